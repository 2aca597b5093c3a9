"""Nearest training images in the network's penultimate features, cached per run."""
import pytest
import torch
from torch import nn

from core.insight import neighbours as nb
from core.runs.folder import load_model, open_run, run_path


@pytest.fixture
def run_and_model(trained_run):
    run = open_run(run_path(trained_run))
    return run, load_model(run)


def test_the_nearest_training_image_of_a_training_image_is_itself(run_and_model, tiny_dataset):
    run, model = run_and_model
    features = nb.training_features(run, model, tiny_dataset)
    assert features.shape == (len(tiny_dataset.train_x), 84) and features.dtype == torch.float16  # tutorial: 84
    for i in (0, 17, 59):
        [first, *rest] = nb.neighbours(model, features, tiny_dataset, tiny_dataset.train_x[i], k=5)
        assert first.index == i and first.similarity == pytest.approx(1.0, abs=2e-3)
        assert first.label == tiny_dataset.classes[int(tiny_dataset.train_y[i])]
        assert all(n.similarity <= first.similarity + 1e-6 for n in rest) and len(rest) == 4


def test_features_are_computed_once_and_recomputed_when_the_file_does_not_fit(run_and_model, tiny_dataset):
    run, model = run_and_model
    first = nb.training_features(run, model, tiny_dataset)
    path = run.files.neighbours
    stamp = path.stat().st_mtime_ns
    assert torch.equal(nb.training_features(run, model, tiny_dataset), first) and path.stat().st_mtime_ns == stamp
    for damage in (b"garbage", None):
        if damage:
            path.write_bytes(damage)
        else:
            from core.runs.folder import save_tensors, weights_stamp

            save_tensors(path, {"features": torch.zeros(3, 84, dtype=torch.float16)},
                         {"weights": weights_stamp(run.path), "source": tiny_dataset.source})
        assert torch.equal(nb.training_features(run, model, tiny_dataset), first)


def test_a_model_without_a_linear_layer_is_refused_by_name():
    with pytest.raises(ValueError, match="no Linear layer"):
        nb.feature_layer(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()))


def test_nearest_ranks_by_cosine_similarity():
    features = nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]), dim=1).half()
    indices, scores = nb.nearest(features, torch.tensor([0.0, 1.0]), k=2)
    assert indices == [2, 1] and scores == pytest.approx([1.0, 0.8], abs=1e-3)
