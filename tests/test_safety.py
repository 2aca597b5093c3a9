"""Hard to break: faults during saves and training keep what was saved; odd uploads and archives get clear messages."""
import io
import multiprocessing
import os
import signal

import pytest
import torch
from conftest import write_tree
from PIL import Image

from bench.browser import wait_for
from core.data.images import ImageError, decode_image, to_model_input
from core.data.sources import DataError, load
from core.jobs.registry import TrainingJob
from core.models.layers import Conv2d, GlobalAvgPool, Linear, ReLU
from core.models.spec import ModelSpec
from core.runs import folder as runs
from core.runs.folder import load_model, open_run, read_history, save_weights
from core.training.config import TrainConfig

SPEC = ModelSpec((Conv2d(8), ReLU(), GlobalAvgPool(), Linear(10)), name="small")


def encode(image: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


# --- checkpoints --------------------------------------------------------------------------------------------------


def _save_and_die(folder, model_state):
    """In a child process: start writing new weights, then get killed half-way through the write."""
    import safetensors.torch

    real = safetensors.torch.save_file

    def half_then_kill(tensors, path, metadata=None):
        real(tensors, path, metadata=metadata)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        os.kill(os.getpid(), signal.SIGKILL)

    import core.runs.weights

    core.runs.weights.save_file = half_then_kill
    model = __import__("core.models.spec", fromlist=["build_model"]).build_model(SPEC)
    model.load_state_dict(model_state)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    save_weights(folder / "weights.safetensors", model, SPEC, [str(i) for i in range(10)])


def test_a_process_killed_while_saving_leaves_the_previous_weights_intact(tmp_path):
    from core.models.spec import build_model

    model = build_model(SPEC)
    save_weights(tmp_path / "weights.safetensors", model, SPEC, [str(i) for i in range(10)])
    before = (tmp_path / "weights.safetensors").read_bytes()
    child = multiprocessing.get_context("fork").Process(target=_save_and_die, args=(tmp_path, model.state_dict()))
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert (tmp_path / "weights.safetensors").read_bytes() == before
    loaded = runs.load_weights(tmp_path / "weights.safetensors", SPEC)
    assert torch.equal(loaded.state_dict()["0.weight"], model.state_dict()["0.weight"])


def test_out_of_memory_stops_the_run_with_the_reason_and_keeps_the_last_epoch(tiny_dataset, tmp_path, monkeypatch):
    import core.training.train

    calls = {"n": 0}
    real = core.training.train.augment

    def augment_then_oom(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 6:  # 6 steps = epoch 1 at batch 10
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(core.training.train, "augment", augment_then_oom)
    job = TrainingJob(SPEC, tiny_dataset, TrainConfig(epochs=3, batch_size=10, device="cpu"), tmp_path / "oom")
    job.start().join(60)
    snap = job.snapshot()
    assert snap.status == "failed" and snap.reason.startswith("out of memory: use a smaller batch size")
    run = open_run(tmp_path / "oom")
    assert run.summary.status == "failed" and run.summary.epochs_done == 1
    load_model(run)


def test_an_exploding_learning_rate_mid_run_keeps_the_last_good_weights(tiny_dataset, tmp_path):
    config = TrainConfig(epochs=200, batch_size=2, lr=0.01, momentum=0.99, schedule="constant", device="cpu")
    job = TrainingJob(ModelSpec((GlobalAvgPool(), Linear(64), Linear(64), Linear(10))), tiny_dataset, config,
                      tmp_path / "boom").start()
    wait_for(lambda: job.snapshot().epochs, timeout=60, what="the first epoch")
    job.set_lr(10.0)
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "diverged" and "the loss became" in snap.reason
    assert any(e.type == "lr" and e.lr_to == 10.0 for e in snap.events)
    load_model(open_run(tmp_path / "boom"))  # refuses NaN weights, so this proves the saved ones are finite
    assert [e.type for e in read_history(tmp_path / "boom").events] == ["lr", "diverged"]  # both on disk


# --- uploads ------------------------------------------------------------------------------------------------------


def test_exif_rotation_is_applied():
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    assert decode_image(encode(image, "JPEG", exif=exif)).size == (20, 40)


def test_animated_gif_uses_its_first_frame():
    frames = [Image.new("P", (8, 8), i) for i in (1, 2, 3)]
    for i, frame in enumerate(frames):
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(buf.getvalue()).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize("size", [(1, 1), (4000, 10), (10, 4000)])
def test_tiny_and_very_wide_images_become_32x32(size):
    assert to_model_input(decode_image(encode(Image.new("RGB", size, (9, 9, 9))))).shape == (3, 32, 32)


def test_16_bit_grey_keeps_its_range():
    image = Image.new("I;16", (4, 4))
    image.putpixel((0, 0), 65535)
    rgb = decode_image(encode(image))
    assert rgb.getpixel((0, 0)) == (255, 255, 255) and rgb.getpixel((1, 1)) == (0, 0, 0)


def test_an_oversize_upload_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr("core.data.images.MAX_IMAGE_BYTES", 1000)
    with pytest.raises(ImageError, match=r"big.png is 0.0 MB; the limit is 0 MB"):
        decode_image(b"\x89PNG" + b"0" * 2000, "big.png")


# --- dataset archives and folders ---------------------------------------------------------------------------------


def test_a_missing_split_is_named(data_root, tmp_path):
    tree = write_tree(tmp_path / "t", per_class=(1, 1), classes=["cat", "dog"])
    for f in (tree / "test").rglob("*.png"):
        f.unlink()
    with pytest.raises(DataError, match="has no test/<class>/ images"):
        load(str(tree))


def test_a_class_missing_from_one_split_is_named(data_root, tmp_path):
    tree = write_tree(tmp_path / "t", per_class=(1, 1), classes=["cat", "dog", "emu"])
    for f in (tree / "test" / "emu").glob("*"):
        f.unlink()
    (tree / "test" / "emu").rmdir()
    with pytest.raises(DataError, match="only in train: emu"):
        load(str(tree))
