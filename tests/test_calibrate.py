"""Calibration: temperature scaling fitted on held-out training images, its reliability and the abstain curve."""
import json
import math
from dataclasses import replace

import pytest
import torch

from core.insight import calibrate
from core.insight.calibrate import (
    abstain_curve,
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability,
)
from core.runs.folder import open_run
from core.training.config import TrainConfig
from core.training.train import holdout_split, training_subset, unseen_indices


def overconfident(n=4000, classes=10, sharpen=4.0, seed=0):
    """Labels drawn from softmax(base), and logits `sharpen` times base: a model sure beyond its accuracy."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, classes, generator=g) * 1.5
    labels = torch.multinomial(torch.softmax(base, 1), 1, generator=g).flatten()
    return base * sharpen, labels


def test_temperature_scaling_undoes_overconfidence_and_lowers_the_nll():
    logits, labels = overconfident(sharpen=4.0)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(4.0, rel=0.15)
    assert nll(logits, labels, t) < nll(logits, labels) - 0.5
    before = expected_calibration_error(torch.softmax(logits, 1), labels)
    after = expected_calibration_error(torch.softmax(logits / t, 1), labels)
    assert after < before / 3


def test_a_well_calibrated_model_keeps_a_temperature_near_one():
    logits, labels = overconfident(sharpen=1.0)
    assert fit_temperature(logits, labels) == pytest.approx(1.0, abs=0.15)


def test_reliability_bins_account_for_every_image_and_agree_with_the_ece():
    logits, labels = overconfident()
    probs = torch.softmax(logits, 1)
    bins = reliability(probs, labels)
    assert len(bins) == calibrate.BINS and sum(b["images"] for b in bins) == len(labels)
    gap = sum(b["images"] * abs(b["accuracy"] - b["confidence"]) for b in bins if b["images"]) / len(labels)
    assert gap == pytest.approx(expected_calibration_error(probs, labels), abs=1e-4)
    for b in bins:
        assert b["images"] == 0 or b["low"] <= b["confidence"] <= b["high"]


def test_the_abstain_curve_answers_fewer_images_and_gets_them_right_more_often():
    logits, labels = overconfident(sharpen=1.0)
    curve = abstain_curve(torch.softmax(logits, 1), labels)
    everything = float((logits.argmax(1) == labels).float().mean())
    assert curve.coverage[0] == 1.0 and curve.accuracy[0] == pytest.approx(everything)
    assert all(a >= b for a, b in zip(curve.coverage, curve.coverage[1:]))
    answered = [a for a in curve.accuracy if a is not None]
    assert answered[len(answered) // 2] > everything + 0.1  # confident answers are right more often
    assert curve.at(0.0) == (1.0, curve.accuracy[0])


def test_the_held_out_slice_is_never_trained_on_is_the_same_for_every_seed_and_at_most_a_fifth():
    class Data:
        train_x, train_y = torch.arange(1000), torch.arange(1000)

    for seed in (0, 7):
        config = TrainConfig(holdout=150, seed=seed, limit_train=500)
        trained, held = set(training_subset(Data, config)[0].tolist()), set(unseen_indices(1000, config).tolist())
        assert len(held) == 150 and not trained & held and len(trained) == 500
    assert unseen_indices(1000, TrainConfig(holdout=150, seed=0)).tolist() == \
        unseen_indices(1000, TrainConfig(holdout=150, seed=7)).tolist()
    assert len(holdout_split(100, 2000)[1]) == 20  # a preset's 2,000 on a tiny dataset: a fifth
    assert len(unseen_indices(1000, TrainConfig(limit_train=600))) == 400  # what limit_train left out
    assert len(unseen_indices(1000, TrainConfig())) == 0
    assert training_subset(Data, TrainConfig())[0] is Data.train_x  # nothing held out: no copy


def test_a_runs_temperature_is_fitted_on_its_held_out_images_once_and_refitted_when_tampered(trained_run, tiny_dataset):
    from core.runs.folder import run_path

    run = open_run(run_path(trained_run))
    from core.runs.folder import load_model

    model = load_model(run)
    t, n = calibrate.run_temperature(run, model, tiny_dataset)
    assert n == 10 and calibrate.TEMPERATURE_RANGE[0] <= t <= calibrate.TEMPERATURE_RANGE[1]
    saved = run.files.calibration
    stamp = saved.stat().st_mtime_ns
    assert calibrate.run_temperature(run, model, tiny_dataset) == (t, n) and saved.stat().st_mtime_ns == stamp
    other = {**json.loads(saved.read_text()), "source": "another dataset", "temperature": 3.0}
    for bad in (other, {**json.loads(saved.read_text()), "temperature": 1e9}, {"temperature": "NaN"}, "not json"):
        saved.write_text(bad if isinstance(bad, str) else json.dumps(bad))
        assert calibrate.run_temperature(run, model, tiny_dataset)[0] == pytest.approx(t)
        assert math.isfinite(json.loads(saved.read_text())["temperature"])


def test_a_run_without_held_out_images_keeps_temperature_one(trained_run, tiny_dataset):
    from core.runs.folder import load_model, run_path

    run = open_run(run_path(trained_run))
    run = replace(run, config=replace(run.config, holdout=0))
    run.files.calibration.unlink(missing_ok=True)
    assert calibrate.run_temperature(run, load_model(run), tiny_dataset) == (1.0, 0)
