"""Batches: tutorial normalization, seeded shuffling, batched augmentation that keeps pixels intact."""
import torch

from core.data.batches import (
    Augmentation,
    augment,
    color_jitter,
    flip,
    gaussian_blur,
    gaussian_noise,
    normalize,
    random_crop,
    random_erasing,
    random_resized_crop,
    shuffled_batches,
    steps_per_epoch,
    with_plain_views,
)


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
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.equal(augment(x, Augmentation()), x)


EVERYTHING = Augmentation(crop_padding=2, pad_mode="reflect", flip=True, crop_scale=0.3, color_jitter=0.5, erasing=0.5,
                          noise=0.1, blur=1.0)


def test_augmentation_is_seeded_and_keeps_images_in_range():
    x = torch.rand(64, 3, 32, 32) * 2 - 1
    run = lambda seed: augment(x, EVERYTHING, torch.Generator().manual_seed(seed))
    assert torch.equal(run(1), run(1)) and not torch.equal(run(1), run(2))
    assert run(1).shape == x.shape and run(1).min() >= -1 and run(1).max() <= 1


def test_every_augmentation_setting_of_a_run_reaches_the_batches():
    from dataclasses import fields

    from core.training.config import TrainConfig

    config = TrainConfig(crop_padding=3, pad_mode="reflect", flip=True, crop_scale=0.5, color_jitter=0.2, erasing=0.1,
                         noise=0.05, blur=0.7)
    assert config.augmentation == Augmentation(3, "reflect", True, 0.5, 0.2, 0.1, 0.05, blur=0.7)
    assert {f.name for f in fields(Augmentation)} <= {f.name for f in fields(TrainConfig)}


def test_a_resized_crop_zooms_into_a_part_of_each_image():
    # a horizontal ramp: a crop stretched back spans a narrower range of values, inside the original's
    ramp = torch.linspace(-1, 1, 32).expand(16, 3, 32, 32).contiguous()
    y = random_resized_crop(ramp, 0.3, torch.Generator().manual_seed(0))
    spans = y[:, 0, 16].amax(1) - y[:, 0, 16].amin(1)
    assert (spans <= 2 + 1e-5).all() and (spans < 1.5).sum() >= 4 and y.abs().max() <= 1 + 1e-5
    assert torch.equal(random_resized_crop(ramp, 1.0), ramp)


def test_colour_jitter_changes_colours_but_leaves_greys_grey():
    grey = torch.rand(32, 1, 32, 32).expand(32, 3, 32, 32) * 2 - 1
    y = color_jitter(grey, 0.5, torch.Generator().manual_seed(0))
    assert torch.allclose(y[:, 0], y[:, 1], atol=1e-5) and torch.allclose(y[:, 1], y[:, 2], atol=1e-5)
    assert not torch.allclose(y, grey, atol=1e-3)


def test_a_photo_share_leaves_the_rest_of_the_batch_to_translation_and_flips_only():
    x = torch.rand(200, 3, 32, 32) * 2 - 1
    strong = Augmentation(color_jitter=0.8, noise=0.1, photo_share=0.3)
    y = augment(x, strong, torch.Generator().manual_seed(0))
    touched = [not torch.equal(a, b) for a, b in zip(x, y)]
    assert 30 < sum(touched) < 90  # about 60 of 200
    everything = Augmentation(crop_scale=0.5, color_jitter=0.8, noise=0.1, blur=1.0, erasing=0.5, photo_share=0.0)
    assert torch.equal(augment(x, everything, torch.Generator().manual_seed(0)), x)  # a share of 0 touches none
    plain = Augmentation(crop_padding=2, flip=True, photo_share=0.3)  # no photo augmentation: nothing drawn for it
    assert torch.equal(augment(x, plain, torch.Generator().manual_seed(0)),
                       augment(x, Augmentation(crop_padding=2, flip=True), torch.Generator().manual_seed(0)))


def test_photo_augmentations_apart_each_draw_their_own_share_so_more_images_show_fewer_changes():
    x = torch.rand(1000, 3, 32, 32) * 2 - 1
    share = lambda aug: sum(not torch.equal(a, b) for a, b in zip(x, augment(x, aug, torch.Generator().manual_seed(0)))) / len(x)
    together = Augmentation(color_jitter=0.8, noise=0.1, photo_share=0.3)
    apart = Augmentation(color_jitter=0.8, noise=0.1, photo_share=0.3, photo_apart=True)
    assert 0.25 < share(together) < 0.35
    assert 0.45 < share(apart) < 0.57  # 1 - 0.7 ** 2 = 0.51 touched by one or both
    assert share(Augmentation(color_jitter=0.8, noise=0.1, photo_share=0.0, photo_apart=True)) == 0
    views, twins = with_plain_views(x, apart, torch.Generator().manual_seed(0))  # consistency pairs every touched one
    touched = [i for i in range(len(x)) if not torch.equal(views[i], x[i])]
    assert twins.tolist() == touched and torch.equal(views[len(x):], x[twins])


def test_plain_views_follow_the_batch_one_for_each_photo_augmented_image():
    x = torch.rand(200, 3, 32, 32) * 2 - 1
    strong = Augmentation(color_jitter=0.8, noise=0.1, photo_share=0.3)
    views, twins = with_plain_views(x, strong, torch.Generator().manual_seed(0))
    assert torch.equal(views[:200], augment(x, strong, torch.Generator().manual_seed(0)))  # the batch as it was
    assert 30 < len(twins) < 90 and len(views) == 200 + len(twins)
    assert torch.equal(views[200:], x[twins])  # no translation or mirror here: the plain views are the originals
    assert all(not torch.equal(views[i], x[i]) for i in twins)  # ... of exactly the images the photo share touched
    everything = Augmentation(noise=0.1, crop_padding=2, flip=True)  # a share of 1: every image gets a plain twin
    views, twins = with_plain_views(x, everything, torch.Generator().manual_seed(0))
    assert twins.tolist() == list(range(200)) and len(views) == 400
    assert not torch.equal(views[200:], x)  # the plain views are translated and mirrored like any other


def test_noise_has_a_strength_of_its_own_per_image_up_to_the_most():
    x = torch.zeros(400, 3, 32, 32)
    y = gaussian_noise(x, 0.1, torch.Generator().manual_seed(0))
    sigmas = y.flatten(1).std(1) / 2  # in pixel units
    assert sigmas.max() <= 0.1 * 1.1 and sigmas.min() < 0.01 and 0.04 < sigmas.mean() < 0.06  # uniform on [0, 0.1]
    assert torch.equal(gaussian_noise(x, 0.0), x)


def test_blur_softens_each_image_by_its_own_amount_up_to_the_most_and_keeps_flat_areas():
    x = torch.rand(300, 3, 32, 32) * 2 - 1
    y = gaussian_blur(x, 1.0, torch.Generator().manual_seed(0))
    detail = lambda v: (v[..., 1:] - v[..., :-1]).abs().flatten(1).mean(1)  # how much neighbouring pixels differ
    kept = detail(y) / detail(x)
    assert (kept <= 1 + 1e-5).all() and kept.min() < 0.55 and kept.max() > 0.95  # from none to strong
    flat = torch.full((4, 3, 32, 32), 0.3)
    assert torch.allclose(gaussian_blur(flat, 2.0, torch.Generator().manual_seed(0)), flat)  # weights sum to 1
    assert torch.equal(gaussian_blur(x, 0.0), x)


def test_random_erasing_greys_one_rectangle_of_2_to_33_percent_of_an_image():
    x = torch.rand(64, 3, 32, 32) + 0.5  # never 0, so the grey rectangle is exactly what became 0
    y = random_erasing(x, 1.0, torch.Generator().manual_seed(0))
    for image in y:
        rows, cols = (image[0] == 0).nonzero(as_tuple=True)
        area = len(rows)
        assert 0.02 * 1024 * 0.8 <= area <= 0.33 * 1024 * 1.2  # rounding of the sides
        assert area == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # a filled rectangle
        assert ((image == 0).sum(0) % 3 == 0).all()  # all three channels
    half = random_erasing(x, 0.5, torch.Generator().manual_seed(0))
    erased = [(image == 0).any() for image in half]
    assert 10 < sum(erased) < 54


def test_denormalize_undoes_normalize_exactly():
    from core.data.batches import denormalize, normalize

    pixels = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(denormalize(normalize(pixels)), pixels)
