"""The time-lapse: one small frame per epoch in the run folder, read back in order, damage skipped."""
import torch

from core.insight import timelapse
from core.runs.folder import run_path
from core.runs.layout import RunFolder


def test_every_epoch_leaves_a_small_frame_of_filters_and_heat_maps(trained_run, tiny_dataset):
    frames = timelapse.read(run_path(trained_run))
    assert [f.epoch for f in frames] == [1, 2]
    pictures = timelapse.sample_indices(tiny_dataset.test_y)
    for f in frames:
        assert torch.equal(f.images, tiny_dataset.test_x[pictures])
        assert f.truth == [tiny_dataset.classes[int(tiny_dataset.test_y[i])] for i in pictures]
        assert f.cams.shape == (6, 32, 32) and f.cams.dtype == torch.uint8 and int(f.cams.max()) == 255
        assert set(f.predicted) <= set(tiny_dataset.classes) and all(0 <= p <= 1 for p in f.confidence)
        assert f.filters.shape == (6, 3, 5, 5)  # the tutorial net's first conv
    assert not torch.equal(frames[0].filters, frames[1].filters)  # the filters moved between epochs
    per_epoch = [p.stat().st_size for p in RunFolder(run_path(trained_run)).timelapse.glob("epoch-*")]
    assert len(per_epoch) == 2 and max(per_epoch) < 8_000  # the pictures are kept once; 500 epochs stay under 4 MB


def test_sample_indices_take_the_first_test_image_of_each_class():
    labels = torch.tensor([3, 0, 0, 1, 3, 2, 1])
    assert timelapse.sample_indices(labels, 3) == [1, 3, 5]
    assert timelapse.sample_indices(labels, 10) == [1, 3, 5, 0]


def test_a_damaged_frame_is_skipped_and_the_rest_still_plays(trained_run):
    folder = run_path(trained_run)
    RunFolder(folder).timelapse_frame(1).write_bytes(b"not a safetensors file")
    RunFolder(folder).timelapse_frame(3).write_bytes(b"")
    assert [f.epoch for f in timelapse.read(folder)] == [2]
    RunFolder(folder).timelapse_pictures.unlink()
    assert timelapse.read(folder) == []
