"""A run's summary: typed, written with a format version, read back typed; summaries from before the type read the
same, and a damaged value never hides a run."""
import json
import time
from dataclasses import fields

import pytest

from core.runs.folder import list_runs, read_summary
from core.runs.summary import STALE_S, SUMMARY_VERSION, RunSummary
from core.training.status import RunStatus

FINISHED = RunSummary(kind="captioner", name="captioner", model="captioner (gru)", source="official", device="cpu",
                      epochs=4, epochs_done=4, status=RunStatus.FINISHED, created=10.0, updated=20.0,
                      train_seconds=99.5, images_per_second=812.0, test_accuracy=0.75, per_class_accuracy={"cat": 0.5},
                      encoder_from="20261129-run", bleu=0.6, object_recall=0.9, held_out_exact=0.7)

# what RunRecorder wrote before the summary was typed (a real file's keys, no "v")
OLD_CLASSIFIER = {"status": "finished", "created": 1795960000.1, "updated": 1795960300.2, "reason": "",
                  "images_per_second": 951.3, "train_seconds": 271.0, "epochs_done": 10, "kind": "classifier",
                  "name": "fast", "model": "fast", "source": "official", "device": "cpu", "epochs": 10,
                  "test_accuracy": 0.892, "per_class_accuracy": {"airplane": 0.91, "cat": 0.78}}


def test_a_summary_written_is_read_back_as_the_same_summary_with_its_version():
    data = json.loads(json.dumps(FINISHED.to_json()))
    assert data["v"] == SUMMARY_VERSION and data["status"] == "finished"
    assert RunSummary.from_json(data) == FINISHED
    assert {f.name for f in fields(RunSummary)} | {"v"} == set(data)  # every field is written


def test_a_summary_from_before_the_version_reads_the_same(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(OLD_CLASSIFIER))
    summary = read_summary(tmp_path)
    assert summary.status is RunStatus.FINISHED and summary.test_accuracy == 0.892 and summary.epochs_done == 10
    assert summary.per_class_accuracy["cat"] == 0.78 and summary.encoder_from is None and summary.has_weights


@pytest.mark.parametrize("field, bad", [("test_accuracy", "92%"), ("epochs_done", 2.5), ("epochs", True),
                                        ("kind", "regressor"), ("per_class_accuracy", {"cat": "high"}),
                                        ("model", None), ("images_per_second", [1])])
def test_a_value_of_the_wrong_type_reads_as_its_default_and_keeps_the_rest(field, bad):
    summary = RunSummary.from_json({**OLD_CLASSIFIER, field: bad})
    assert getattr(summary, field) == getattr(RunSummary(), field)
    assert summary.status is RunStatus.FINISHED and summary.name == "fast"


def test_unknown_status_reads_as_damaged_and_a_stale_running_one_as_interrupted():
    assert RunSummary.from_json({**OLD_CLASSIFIER, "status": "exploded"}).status is RunStatus.DAMAGED
    now = OLD_CLASSIFIER["updated"]
    running = {**OLD_CLASSIFIER, "status": "running"}
    assert RunSummary.from_json(running, now=now + STALE_S / 2).status is RunStatus.RUNNING
    stale = RunSummary.from_json(running, now=now + STALE_S + 1)
    assert stale.status is RunStatus.INTERRUPTED and "last saved weights" in stale.reason


def test_a_change_is_a_new_summary_with_a_fresh_time_and_unknown_fields_are_refused():
    changed = FINISHED.changed(epochs_done=5)
    assert changed.epochs_done == 5 and FINISHED.epochs_done == 4 and changed.updated >= time.time() - 5
    with pytest.raises(TypeError):
        FINISHED.changed(accuracy=0.9)


def test_a_folder_whose_summary_is_not_an_object_is_listed_as_damaged_with_the_reason(tmp_path):
    (tmp_path / "20261129-bad").mkdir()
    (tmp_path / "20261129-bad" / "summary.json").write_text("[1, 2]")
    (tmp_path / "20261129-bad" / "spec.json").write_text("{}")
    [listed] = list_runs(tmp_path)
    assert listed.summary.status is RunStatus.DAMAGED and "not a JSON object" in listed.summary.reason
    assert listed.kind == "classifier" and not listed.summary.has_weights
