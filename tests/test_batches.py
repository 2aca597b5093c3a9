"""Batches: tutorial normalization, seeded shuffling, batched augmentation that keeps pixels intact."""
import torch

from core.batches import augment, flip, normalize, random_crop, shuffled_batches, steps_per_epoch


def test_normalize_matches_torchvision_totensor_then_normalize():
    from torchvision import transforms

    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    reference = transforms.Normalize((0.5,) * 3, (0.5,) * 3)(x.float() / 255)
    assert torch.allclose(normalize(x), reference, atol=1e-6)
    assert normalize(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


def test_shuffling_is_seeded_and_covers_every_image_once():
    order = lambda seed: torch.cat(list(shuffled_batches(103, 10, torch.Generator().manual_seed(seed), "cpu")))
    assert torch.equal(order(1), order(1)) and not torch.equal(order(1), order(2))
    assert sorted(order(1).tolist()) == list(range(103))
    assert steps_per_epoch(103, 10) == 11


def test_flip_mirrors_some_images_and_leaves_the_rest():
    x = torch.arange(8 * 3 * 4 * 4, dtype=torch.float32).reshape(8, 3, 4, 4)
    y = flip(x, torch.Generator().manual_seed(0))
    mirrored = [torch.equal(y[i], x[i].flip(2)) for i in range(8)]
    unchanged = [torch.equal(y[i], x[i]) for i in range(8)]
    assert all(m or u for m, u in zip(mirrored, unchanged)) and any(mirrored) and any(unchanged)


def test_random_crop_shifts_each_image_within_the_padding():
    x = torch.rand(16, 3, 32, 32)
    y = random_crop(x, 4, torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    for i in range(16):  # every output is the input shifted by some (dy, dx) with zeros coming in
        padded = torch.nn.functional.pad(x[i], (4,) * 4)
        assert any(torch.equal(y[i], padded[:, dy:dy + 32, dx:dx + 32]) for dy in range(9) for dx in range(9))
    assert not all(torch.equal(y[i], x[i]) for i in range(16))


def test_augment_off_is_identity():
    x = torch.rand(4, 3, 32, 32)
    assert torch.equal(augment(x, 0, False), x)


def test_denormalize_undoes_normalize_exactly():
    from core.batches import denormalize, normalize

    pixels = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(denormalize(normalize(pixels)), pixels)
