"""Progressive resizing and training FLOPs: the first epochs train on small random crops, a model that cannot take
them is refused before training, and the FLOP counter reports what the small epochs save."""
from dataclasses import replace

import pytest
import torch

from core.models.layers import BatchNorm2d, Conv2d, GlobalAvgPool, Linear, ReLU
from core.models.spec import ModelSpec
from core.training.config import ConfigError, TrainConfig, check_trainable
from core.training.flops import training_flops, training_flops_per_image
from core.training.presets import ACCURATE_SGD, PRESETS
from core.training.train import fit, random_crop

POOLED = ModelSpec((Conv2d(8), BatchNorm2d(), ReLU(), GlobalAvgPool(), Linear(10)), name="pooled")
EARLY = TrainConfig(epochs=3, batch_size=10, lr=0.05, device="cpu", early_epochs=2, early_size=20)


def test_a_crop_is_a_window_of_the_batch_at_one_random_place():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32)
    g = torch.Generator().manual_seed(0)
    crop = random_crop(x, 24, g)
    assert crop.shape == (2, 3, 24, 24)
    top, left = divmod(int(crop[0, 0, 0, 0]), 32)
    assert torch.equal(crop, x[..., top:top + 24, left:left + 24])
    assert random_crop(x, 32, g) is x  # full size: untouched


def test_the_early_epochs_train_on_small_crops_and_the_rest_on_whole_images(tiny_dataset):
    from core.models.spec import build_model

    seen = []  # the side of every batch the model trained on, seen from inside it
    hooked = build_model(POOLED, seed=EARLY.seed)
    hooked[0].register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[-1]) if m.training else None)
    result = fit(POOLED, tiny_dataset, EARLY, model=hooked)
    assert result.status == "finished" and len(result.epochs) == 3
    per_epoch = len(seen) // 3
    assert set(seen[:2 * per_epoch]) == {20} and set(seen[2 * per_epoch:]) == {32}


@pytest.mark.parametrize("config, problem", [
    (replace(EARLY, early_epochs=3), "at least one of the 3 epochs"),
])
def test_progressive_resizing_must_leave_full_size_epochs(config, problem):
    with pytest.raises(ConfigError, match=problem):
        config.check()


def test_a_model_fixed_to_32_pixels_is_refused_with_what_to_change(tiny_dataset):
    with pytest.raises(ConfigError, match="GlobalAvgPool"):
        check_trainable(PRESETS["tutorial"].spec, tiny_dataset, replace(EARLY, early_size=24))
    with pytest.raises(ConfigError, match="too small for this model"):
        check_trainable(PRESETS["fast"].spec, tiny_dataset, replace(EARLY, early_size=24))
    check_trainable(PRESETS["fast"].spec, tiny_dataset, replace(EARLY, early_size=26))  # 25, 12, 6, 3, 1: fine


def test_training_flops_are_counted_per_image_and_the_small_epochs_cost_less():
    per_image = training_flops_per_image(POOLED)
    # the conv: 8 filters of 3x3x3 at 30x30 places, 2 FLOPs a multiply-add, forward; backward about twice that
    forward_conv = 2 * 8 * 27 * 30 * 30
    assert 2 * forward_conv < per_image < 4 * forward_conv
    full = training_flops(POOLED, replace(EARLY, early_epochs=0), 100)
    early = training_flops(POOLED, EARLY, 100)
    assert full == pytest.approx(3 * 100 * per_image)
    assert early == pytest.approx(100 * (2 * training_flops_per_image(POOLED, 20) + per_image))
    assert early < full


def test_the_presets_cost_what_the_docs_say():
    """docs/benchmarks.md: fast 101 and accurate 708 MFLOP per training image (324 before issue 36 widened it)."""
    assert training_flops_per_image(PRESETS["fast"].spec) / 1e6 == pytest.approx(101.4, abs=0.5)
    assert training_flops_per_image(PRESETS["accurate"].spec) / 1e6 == pytest.approx(707.8, abs=0.5)
    assert training_flops_per_image(ACCURATE_SGD.spec("accurate")) / 1e6 == pytest.approx(324.2, abs=0.5)
