"""Accuracy under corruption: every model scored on the same corrupted sets; a run's scores kept in its folder for
its weights and data, measured again when either changes or the file does not check out."""
import json

import pytest
import torch
from torch import nn

from core.data.corruptions import CORRUPTIONS, SEVERITIES
from core.insight.robustness import RobustnessReport, measure, run_robustness
from core.runs.folder import load_model, open_run
from core.runs.layout import RunFolder


class Always(nn.Module):
    """Answers one class whatever it sees."""

    def __init__(self, label: int):
        super().__init__()
        self.label, self.anchor = label, nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return nn.functional.one_hot(torch.full((len(x),), self.label), 10).float() + self.anchor


class Brightest(nn.Module):
    """Class 1 for pictures brighter than mid-grey, else 0."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.stack([-x.mean((1, 2, 3)), x.mean((1, 2, 3))], 1) + self.anchor


def test_every_model_is_scored_on_every_corruption_and_severity():
    # flat grey pictures: light ones (200) are class 1, dark ones (60) class 0
    images = torch.cat([torch.full((20, 3, 32, 32), 200), torch.full((20, 3, 32, 32), 60)]).to(torch.uint8)
    labels = torch.tensor([1] * 20 + [0] * 20)
    reports = measure({"zero": Always(0), "bright": Brightest()}, images, labels)
    zero = reports["zero"]
    assert set(zero.accuracy) == set(CORRUPTIONS) and all(set(by) == set(SEVERITIES) for by in zero.accuracy.values())
    assert zero.clean == 0.5 and zero.mean == pytest.approx(0.5)  # one class for everything: half right, always
    bright = reports["bright"]
    assert bright.clean == 1.0 and bright.mean_of("desaturate") == 1.0  # greys stay greys
    # +0.05 leaves the dark ones dark, +0.3 lifts them past mid-grey; x0.8 keeps the light ones light, x0.3 does not
    assert bright.accuracy["brightness"][1] == 1.0 and bright.accuracy["brightness"][5] == 0.5
    assert bright.accuracy["dark"][1] == 1.0 and bright.accuracy["dark"][5] == 0.5


def test_a_report_reads_back_from_its_json():
    report = RobustnessReport(10, 0.9, {name: {s: 0.5 + s / 20 for s in SEVERITIES} for name in CORRUPTIONS})
    data = json.loads(json.dumps(report.to_json()))
    assert RobustnessReport.from_json(data) == report and data["mean"] == pytest.approx(0.5 + 3 / 20)


def quick_measure(models, images, labels, **settings):
    """measure()'s reports without corrupting 70 sets: the test above checks the measuring, the one below the keeping."""
    return {key: RobustnessReport(len(images), 0.5, {name: {s: 0.5 for s in SEVERITIES} for name in CORRUPTIONS})
            for key in models}


def test_a_runs_scores_are_kept_and_measured_again_when_the_weights_change(finished_run, tiny_dataset, monkeypatch):
    monkeypatch.setattr("core.insight.robustness.measure", quick_measure)
    run = open_run(finished_run)
    model = load_model(run)
    first = run_robustness(run, model, tiny_dataset, images=12)
    assert first.images == 12 and RunFolder(finished_run).robustness.exists()

    def no_measuring(*args, **kwargs):
        raise AssertionError("measured again although nothing changed")

    monkeypatch.setattr("core.insight.robustness.measure", no_measuring)
    assert run_robustness(run, model, tiny_dataset, images=12) == first
    monkeypatch.setattr("core.insight.robustness.measure", quick_measure)
    assert run_robustness(run, model, tiny_dataset, images=8).images == 8  # another size: measured again
    saved = json.loads(RunFolder(finished_run).robustness.read_text())
    saved["accuracy"]["fog"]["3"] = 7.0  # tampered: not an accuracy
    RunFolder(finished_run).robustness.write_text(json.dumps(saved))
    again = run_robustness(run, model, tiny_dataset, images=8)
    assert 0 <= again.accuracy["fog"][3] <= 1
    (finished_run / "weights.safetensors").touch()  # saved again (a new stamp): the old scores no longer apply
    monkeypatch.setattr("core.insight.robustness.measure", no_measuring)
    with pytest.raises(AssertionError, match="measured again"):
        run_robustness(run, model, tiny_dataset, images=8)
