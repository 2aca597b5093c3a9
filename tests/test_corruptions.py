"""Corrupted test images, CIFAR-10-C style: every corruption deterministic per seed, changing the pictures by an
amount that grows with its severity; unknown names and severities refused by name."""
import pytest
import torch
import torch.nn.functional as nnf

from core.data.corruptions import CORRUPTIONS, SEVERITIES, CorruptionError, corrupt


def photo_like(n: int) -> torch.Tensor:
    """Smooth colour blobs with a little sensor noise: what photos are made of (the generated class images are
    periodic stripes, which a zoom can shift onto themselves)."""
    gen = torch.Generator().manual_seed(0)
    blobs = nnf.interpolate(torch.rand(n, 3, 6, 6, generator=gen), size=(32, 32), mode="bicubic", align_corners=False)
    return (blobs.clamp(0, 1) * 200 + 28 + 8 * torch.randn(n, 3, 32, 32, generator=gen)).clamp(0, 255).to(torch.uint8)


IMAGES = photo_like(60)


def change(name: str, severity: int) -> float:
    return float((corrupt(IMAGES, name, severity).float() - IMAGES.float()).abs().mean())


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_a_corruption_is_deterministic_per_seed_and_keeps_the_images_shape(name):
    a, b = corrupt(IMAGES, name, 3, seed=7), corrupt(IMAGES, name, 3, seed=7)
    assert torch.equal(a, b) and a.shape == IMAGES.shape and a.dtype == torch.uint8


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_the_change_grows_with_the_severity(name):
    amounts = [change(name, s) for s in SEVERITIES]
    assert amounts[0] > 0.3, f"{name} at severity 1 barely changes anything: {amounts}"
    assert all(a < b for a, b in zip(amounts, amounts[1:])), f"{name}: {amounts}"


def test_random_corruptions_draw_from_the_seed_and_each_from_its_own_stream():
    for name in ("gaussian_noise", "shot_noise", "motion_blur", "colour_cast", "fog", "zoom_in", "zoom_out"):
        assert not torch.equal(corrupt(IMAGES, name, 2, seed=0), corrupt(IMAGES, name, 2, seed=1)), name
    # noise at severity 2 is not noise at severity 1 scaled: each set has its own draw
    one, two = (corrupt(IMAGES, "gaussian_noise", s).float() - IMAGES.float() for s in (1, 2))
    assert abs(float(torch.corrcoef(torch.stack([one.flatten(), two.flatten()]))[0, 1])) < 0.5


def test_large_sets_are_corrupted_in_chunks_with_the_same_result_as_one_by_one(monkeypatch):
    whole = corrupt(IMAGES, "jpeg", 4)
    monkeypatch.setattr("core.data.corruptions.CHUNK", 7)
    assert torch.equal(corrupt(IMAGES, "jpeg", 4), whole)
    assert corrupt(IMAGES[:0], "fog", 1).shape == (0, 3, 32, 32)


def test_unknown_corruptions_and_severities_are_refused_by_name():
    with pytest.raises(CorruptionError, match="corruptions: gaussian_noise"):
        corrupt(IMAGES, "rain", 1)
    for bad in (0, 6):
        with pytest.raises(CorruptionError, match="severity must be 1 to 5"):
            corrupt(IMAGES, "fog", bad)
