"""One view of a run: a live job and its saved folder read the same; the watched run is found by kind; the progress
line, the ETA, the class-list check, the test-set evaluation and a confusion cell, each specified without a page."""
import json
from dataclasses import replace

import pytest
import torch

from core.jobs.registry import JobRegistry, TrainingJob
from core.jobs.watched import find_run
from core.runs.classes import ClassesError, check_same_classes
from core.runs.layout import RunError, RunFolder
from core.runs.summary import RunSummary
from core.runs.view import RunView, format_eta
from core.training.evaluate import Metrics
from core.training.history import History, StepReport
from core.training.status import RunStatus


def test_the_folder_names_are_the_ones_runs_have_always_written(tmp_path):
    """These literals are the on-disk format: runs saved by every earlier version must keep loading."""
    files = RunFolder(tmp_path / "r")
    assert {p: getattr(files, p).name for p in ("summary", "metrics", "config", "classes", "weights", "error_log", "spec",
                                                "captioner", "vocab", "calibration", "robustness", "neighbours")} == {
        "summary": "summary.json", "metrics": "metrics.jsonl", "config": "config.json", "classes": "classes.json",
        "weights": "weights.safetensors", "error_log": "error.log", "spec": "spec.json", "captioner": "captioner.json",
        "vocab": "vocab.json", "calibration": "calibration.json", "robustness": "robustness.json",
        "neighbours": "neighbours.safetensors"}
    assert files.timelapse_frame(3) == tmp_path / "r" / "timelapse" / "epoch-0003.safetensors"
    assert files.timelapse_pictures == tmp_path / "r" / "timelapse" / "pictures.safetensors"


def test_the_kind_comes_from_the_model_file(tmp_path):
    files = RunFolder(tmp_path)
    assert files.kind is None
    files.captioner.write_text("{}")
    assert files.kind == "captioner"
    files.spec.write_text("{}")
    assert files.kind == "classifier"  # the classifier's file decides, as it always has


@pytest.mark.parametrize("seconds, text", [(0, "0:00"), (59.9, "0:59"), (61, "1:01"), (3725, "62:05"), (-3, "0:00")])
def test_eta_reads_as_minutes_and_seconds(seconds, text):
    assert format_eta(seconds) == text


def test_the_progress_line_says_where_the_run_is():
    step = StepReport(step=1200, epoch=2, loss=1.2345, lr=0.05, images_per_second=3100.4, eta=41, total_steps=4000)
    view = RunView("r", RunStatus.RUNNING, "", History([step]), total_steps=4000, lr=0.05, live=True)
    assert view.progress_line() == "epoch 2 · step 1,200/4,000 · 3,100 images/s · ETA 0:41 · loss 1.234 · lr 0.05"
    assert view.progress == pytest.approx(0.3) and view.training
    adapting = RunView("c", RunStatus.RUNNING, "", History([StepReport(3, 0, 2.0, 0.1, 10, eta=5, total_steps=9)]),
                       total_steps=9, live=True)
    assert adapting.progress_line("scenes", with_lr=False) == ("adapting the encoder · step 3/9 · 10 scenes/s · "
                                                              "ETA 0:05 · loss 2.000")
    assert RunView("s", RunStatus.STARTING, "", History()).progress_line() == "starting…"


def test_a_saved_run_views_as_its_files_say(finished_run):
    saved = RunView.from_folder(finished_run)
    assert saved.id == "r1" and saved.status == RunStatus.FINISHED and not saved.live and not saved.training
    assert len(saved.history.steps) == 6 and [e.epoch for e in saved.history.epochs] == [1, 2]
    assert saved.lr == saved.history.steps[-1].lr and saved.progress == 0.0  # no plan is saved, so no progress


def test_a_finished_job_views_as_its_folder_does(tiny_dataset, tmp_path):
    from conftest import SMALL_CONFIG, SMALL_SPEC

    job = TrainingJob(SMALL_SPEC, tiny_dataset, SMALL_CONFIG, tmp_path / "runs" / "j").start()
    assert job.join(60)
    live, saved = job.snapshot().view(), RunView.from_folder(tmp_path / "runs" / "j")
    assert live.live and not saved.live and live.done and not live.training
    assert (live.id, live.status, live.reason) == (saved.id, saved.status, saved.reason)
    assert live.history.epochs == saved.history.epochs
    assert [s.step for s in live.history.steps] == [s.step for s in saved.history.steps]
    assert live.progress == 1.0


def test_the_watched_run_is_found_by_kind(finished_run, tmp_path, monkeypatch):
    monkeypatch.setattr("core.runs.folder.RUNS_ROOT", finished_run.parent)
    registry = JobRegistry(runs_root=finished_run.parent)
    found = find_run(registry, "r1", "classifier")
    assert found.job is None and found.folder == finished_run and not found.alive
    assert found.view().status == RunStatus.FINISHED
    for run_id, kind in (("r1", "captioner"), ("nothing-here", "classifier"), ("../../etc", "classifier")):
        with pytest.raises(RunError, match=f"No {kind} run called `{run_id}` was found"):
            find_run(registry, run_id, kind)
    RunFolder(finished_run).summary.unlink()  # a folder whose summary was never written is not a run to watch yet
    with pytest.raises(RunError, match="No classifier run"):
        find_run(registry, "r1", "classifier")


def test_a_damaged_summary_is_an_error_naming_the_file(tmp_path):
    files = RunFolder(tmp_path)
    files.summary.write_text(json.dumps([1, 2]))
    with pytest.raises(RunError, match="summary.json is not a JSON object"):
        RunView.from_folder(tmp_path)
    files.summary.write_text(json.dumps(RunSummary(status=RunStatus.STOPPED, reason="Stop pressed").to_json()))
    assert RunView.from_folder(tmp_path).reason == "Stop pressed"


def test_a_run_used_with_other_classes_is_refused_naming_both_lists():
    check_same_classes("r", ("cat", "dog"), ["cat", "dog"])  # a list and a tuple of the same names are the same
    with pytest.raises(ClassesError, match=r"the run r was trained on other classes \(dog, cat\) than the data has "
                                           r"\(cat, dog\)"):
        check_same_classes("r", ("dog", "cat"), ("cat", "dog"))
    with pytest.raises(ClassesError, match="the encoder run e"):
        check_same_classes("e", ("cat",), ("cat", "dog"), "encoder run")


def test_a_confusion_cell_is_its_images_most_confident_first():
    from core.insight.evaluation import confusion_cell

    labels = torch.tensor([0, 0, 1, 0, 1, 0])
    m = Metrics(0.5, {}, {}, {}, [], [], predictions=[1, 1, 1, 0, 0, 1], confidences=[0.6, 0.9, 0.8, 0.7, 0.5, 0.95])
    assert confusion_cell(m, labels, 0, 1) == [5, 1, 0]  # true 0, predicted 1: by confidence, highest first
    assert confusion_cell(m, labels, 0, 1, limit=2) == [5, 1]
    assert confusion_cell(m, labels, 1, 0) == [4] and confusion_cell(m, labels, 0, 0) == [3]


def test_the_test_set_evaluation_matches_an_independent_count(finished_run, tiny_dataset):
    from core.insight.evaluation import evaluate_run
    from core.runs.folder import load_model, open_run
    from core.training.evaluate import predict_logits

    run = open_run(finished_run)
    model = load_model(run)
    evaluation = evaluate_run(run, model, tiny_dataset)
    predicted = predict_logits(model, tiny_dataset.test_x, tta=run.config.tta).argmax(1)
    expected = (predicted == tiny_dataset.test_y).float().mean().item()
    assert evaluation.metrics.accuracy == pytest.approx(expected)
    assert sum(map(sum, evaluation.metrics.confusion)) == len(tiny_dataset.test_y)
    assert 0.05 <= evaluation.calibration.temperature <= 20.0
    other = replace(tiny_dataset, classes=tuple(reversed(tiny_dataset.classes)))
    with pytest.raises(ClassesError):
        evaluate_run(run, model, other)
