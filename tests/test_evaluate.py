"""Evaluation metrics against an independent NumPy computation; single-image predictions and captions."""
import numpy as np
import pytest
import torch
from PIL import Image

from core.models.spec import build_model
from core.training.evaluate import caption, metrics, predict_image
from core.training.presets import PRESETS


def test_metrics_match_numpy():
    rng = np.random.default_rng(0)
    probs = torch.softmax(torch.from_numpy(rng.normal(size=(500, 4))).float() * 3, 1)
    labels = torch.from_numpy(rng.integers(0, 4, 500))
    m = metrics(probs, labels, ["a", "b", "c", "d"])
    pred, y = probs.numpy().argmax(1), labels.numpy()
    cm = np.zeros((4, 4), int)
    np.add.at(cm, (y, pred), 1)
    assert m.confusion == cm.tolist()
    assert m.accuracy == pytest.approx((pred == y).mean())
    for i, c in enumerate("abcd"):
        assert m.recall[c] == pytest.approx(cm[i, i] / cm[i].sum())
        assert m.precision[c] == pytest.approx(cm[i, i] / cm[:, i].sum())
    wrong = np.flatnonzero(pred != y)
    assert sorted(m.misclassified) == sorted(wrong.tolist())
    conf = probs.max(1).values.numpy()
    assert conf[m.misclassified[0]] == pytest.approx(conf[wrong].max())


def test_predict_image_gives_top5_probabilities_and_a_caption():
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    model = build_model(PRESETS["tutorial"].spec)
    image = Image.new("RGB", (640, 480), (200, 30, 30))
    p = predict_image(model, classes, image)
    assert len(p.top) == 5 and p.top[0][1] >= p.top[-1][1]
    assert list(p.views) == ["crop", "squash", "pad"]
    assert all(v.shape == (3, 32, 32) and v.dtype == torch.uint8 for v in p.views.values())
    assert p.top[0][0] in p.caption


@pytest.mark.parametrize("top,expected", [
    ([("cat", 0.72), ("dog", 0.18)], "Most likely a cat (72%); it could also be a dog (18%)."),
    ([("airplane", 0.95), ("ship", 0.03)], "This is an airplane (95%)."),
    ([("cat", 0.3), ("dog", 0.25), ("deer", 0.2)],
     "I am not sure what this is; it might be a cat or a dog or a deer (best guess cat, 30%)."),
])
def test_caption_sentences(top, expected):
    assert caption(top) == expected
