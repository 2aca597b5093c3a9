"""A run's history file: typed records written with a format version, read back typed; old lines read the same."""
import json

from core.training.history import (
    HISTORY_VERSION,
    CaptionEpochReport,
    EpochReport,
    Event,
    StepReport,
    epoch_line,
    event_line,
    read_history,
    step_line,
)

METRICS = "metrics.jsonl"  # the file's name on disk, as runs have always written it


def test_records_written_are_read_back_as_the_same_records(tmp_path):
    step = StepReport(7, 1, 2.25, 0.05, 900.0, 3.5)
    epoch = EpochReport(1, 2.0, 0.3, 0.35, {"cat": 0.4}, 12.0, 9.5)
    events = [Event("lr", 5, lr_from=0.05, lr_to=0.01), Event("stop", 9), Event("diverged", 8, reason="NaN at 8")]
    lines = [step_line(step), epoch_line(epoch), *map(event_line, events)]
    assert all(json.loads(line)["v"] == HISTORY_VERSION for line in lines)
    (tmp_path / METRICS).write_text("\n".join(lines) + "\n")
    history = read_history(tmp_path / METRICS)
    assert history.steps == [step] and history.epochs == [epoch] and history.events == events


def test_lines_from_before_the_version_read_the_same_and_damaged_lines_are_skipped(tmp_path):
    old = [
        {"type": "step", "step": 1, "epoch": 1, "loss": 2.3, "lr": 0.1, "images_per_second": 10, "elapsed": 0.5},
        {"type": "epoch", "epoch": 1, "train_loss": 2.0, "train_accuracy": 0.2, "test_accuracy": 0.25,
         "per_class_accuracy": {}, "seconds": 3.0},  # no train_seconds yet: it defaults
        {"type": "lr", "step": 1, "from": 0.1, "to": 0.01},
    ]
    text = "\n".join(map(json.dumps, old)) + '\n{"type": "step", "step": 2, "ep' + "\n" + '{"type": "weather"}\n'
    (tmp_path / METRICS).write_text(text)
    history = read_history(tmp_path / METRICS)
    assert [s.step for s in history.steps] == [1] and history.epochs[0].train_seconds == 0.0
    assert history.events == [Event("lr", 1, lr_from=0.1, lr_to=0.01)]


def test_a_captioners_epochs_read_as_caption_reports(tmp_path):
    report = CaptionEpochReport(1, 3.0, 0.4, 0.8, 0.7, 0.6, 0.3, 0.5, [{"scene": 0, "sentence": "a cat"}], 9.0)
    (tmp_path / METRICS).write_text(epoch_line(report) + "\n")
    assert read_history(tmp_path / METRICS, CaptionEpochReport).epochs == [report]
    assert read_history(tmp_path / METRICS).epochs == []  # not a classifier's epoch: skipped, not mistaken for one
