"""Run folders: what a run saves, how it is read back, and that damaged files give clear errors."""
import json
import time

import pytest
from conftest import SMALL_CONFIG as CONFIG
from conftest import SMALL_SPEC as SPEC

from bench.browser import wait_for
from core.jobs.registry import TrainingJob
from core.models.layers import Linear
from core.models.spec import ModelSpec
from core.runs.folder import (
    RunError,
    list_runs,
    load_model,
    open_run,
    read_history,
    run_path,
)
from core.training.config import TrainConfig
from core.training.history import Event, StepReport


def test_a_run_folder_holds_weights_spec_config_classes_metrics_and_summary(finished_run, tiny_dataset):
    names = {p.name for p in finished_run.iterdir()}
    assert {"weights.safetensors", "spec.json", "config.json", "classes.json", "metrics.jsonl", "summary.json"} <= names
    run = open_run(finished_run)
    assert run.spec == SPEC and run.config == CONFIG and run.classes == tiny_dataset.classes
    assert run.summary.status == "finished" and run.summary.epochs_done == 2
    history = read_history(finished_run)
    assert len(history.steps) == 6 and [e.epoch for e in history.epochs] == [1, 2]
    assert run.summary.test_accuracy == history.epochs[-1].test_accuracy


def test_saved_weights_reproduce_the_models_predictions(finished_run, tiny_dataset):
    from core.training.evaluate import accuracy_report, predict_classes

    model = load_model(open_run(finished_run))
    acc = accuracy_report(predict_classes(model, tiny_dataset.test_x), tiny_dataset.test_y, tiny_dataset.classes)
    assert acc.accuracy == pytest.approx(open_run(finished_run).summary.test_accuracy)


def test_weights_that_do_not_fit_the_spec_are_named(finished_run):
    spec = json.loads((finished_run / "spec.json").read_text())
    spec["layers"][0]["out_channels"] = 16
    (finished_run / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(RunError, match=r"does not fit the model spec: 0.weight has shape \(8, 3, 3, 3\)"):
        load_model(open_run(finished_run))


def test_truncated_weights_give_a_clear_error(finished_run):
    w = finished_run / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    with pytest.raises(RunError, match="not a readable safetensors weights file"):
        load_model(open_run(finished_run))


def test_a_class_list_that_disagrees_with_the_weights_is_refused(finished_run):
    classes = json.loads((finished_run / "classes.json").read_text())
    (finished_run / "classes.json").write_text(json.dumps(classes[::-1]))
    with pytest.raises(RunError, match="trained on other classes"):
        load_model(open_run(finished_run))


def test_damaged_json_is_named(finished_run):
    (finished_run / "config.json").write_text("{oops")
    with pytest.raises(RunError, match="config.json is damaged"):
        open_run(finished_run)


def test_run_ids_cannot_escape_the_runs_folder(tmp_path):
    assert run_path("20260101-seed-ab", tmp_path) == tmp_path / "20260101-seed-ab"
    for bad in ("../etc", "/abs", "a/../../b", "..", "a/b"):
        with pytest.raises(RunError):
            run_path(bad, tmp_path)


def test_a_stale_running_run_is_listed_as_interrupted(finished_run):
    summary = json.loads((finished_run / "summary.json").read_text())
    summary.update(status="running", updated=time.time() - 3600)
    (finished_run / "summary.json").write_text(json.dumps(summary))
    [listed] = list_runs(finished_run.parent)
    assert listed.summary.status == "interrupted" and "last saved weights" in listed.summary.reason


def test_a_stopped_job_keeps_its_weights_and_records_the_stop(tiny_dataset, tmp_path):
    job = TrainingJob(SPEC, tiny_dataset, TrainConfig(epochs=50, batch_size=2, device="cpu"), tmp_path / "s")
    job.start()
    wait_for(lambda: job.snapshot().steps, timeout=30, what="the first step")
    job.stop()
    assert job.join(30)
    snap = job.snapshot()
    assert snap.status == "stopped" and snap.steps[-1].step < snap.total_steps
    assert open_run(tmp_path / "s").summary.status == "stopped"
    load_model(open_run(tmp_path / "s"))
    [event] = read_history(tmp_path / "s").events  # the metrics log says where the run stopped
    assert event == Event("stop", snap.steps[-1].step)


def test_a_diverged_run_records_the_divergence_in_its_metrics(tiny_dataset, tmp_path):
    from core.models.layers import Flatten

    unstable = ModelSpec((Flatten(), Linear(256), Linear(256), Linear(10)))
    job = TrainingJob(unstable, tiny_dataset, TrainConfig(epochs=3, batch_size=10, lr=10.0, momentum=0.99,
                                                          schedule="constant", device="cpu"), tmp_path / "d").start()
    assert job.join(60)
    [event] = read_history(tmp_path / "d").events
    assert event.type == "diverged" and event.reason == job.snapshot().reason
    assert open_run(tmp_path / "d").summary.status == "diverged"


def test_the_heartbeat_beats_while_no_step_comes(tiny_dataset, tmp_path, monkeypatch):
    """A run busy with something long (a compile, an evaluation) still reads as alive: the heartbeat is a timer."""
    from core.runs.folder import RunRecorder
    from core.training.train import FitResult

    monkeypatch.setattr("core.runs.folder.HEARTBEAT_S", 0.05)
    recorder = RunRecorder(tmp_path / "h", SPEC, CONFIG, tiny_dataset.classes, "tiny", "cpu")
    first = json.loads((tmp_path / "h" / "summary.json").read_text())["updated"]
    wait_for(lambda: json.loads((tmp_path / "h" / "summary.json").read_text())["updated"] > first,
             timeout=5, what="a heartbeat")
    recorder.finish(FitResult(model=None, status="finished"))
    time.sleep(0.2)
    summary = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert summary["status"] == "finished"
    time.sleep(0.2)  # and no beat after the end overwrites it
    assert json.loads((tmp_path / "h" / "summary.json").read_text()) == summary


def test_the_registry_forgets_old_finished_jobs_but_their_runs_stay_readable(tiny_dataset, tmp_path):
    from core.jobs.registry import JobRegistry

    registry = JobRegistry(runs_root=tmp_path / "runs", max_finished=2)
    ids = []
    for _ in range(4):
        job = registry.start(SPEC, tiny_dataset, TrainConfig(epochs=1, batch_size=30, device="cpu"))
        assert job.join(60)
        ids.append(job.id)
    registry.start(SPEC, tiny_dataset, TrainConfig(epochs=1, batch_size=30, device="cpu")).join(60)
    assert [registry.get(i) is None for i in ids] == [True, True, False, False]
    assert read_history(run_path(ids[0], tmp_path / "runs")).epochs  # still there for the Train page to read


def test_a_snapshot_of_a_long_run_stays_small(tiny_dataset, tmp_path):
    """Polling a 20,000-step run copies a bounded sample, ending with the latest step, with every step averaged."""
    from core.runs.curve import MAX_POINTS

    job = TrainingJob(SPEC, tiny_dataset, TrainConfig(epochs=1, batch_size=20, device="cpu"), tmp_path / "l")
    for step in range(1, 20_001):
        job._step(StepReport(step, 1, 1.0 + step % 2, 0.1, 1.0, 0.0, 0.0, 20_000))
    snap = job.snapshot()
    assert len(snap.steps) <= 2 * MAX_POINTS + 1 and snap.steps[-1].step == 20_000
    assert snap.smoothed[-1] == pytest.approx(1.5, abs=0.05) and snap.progress == 1.0
