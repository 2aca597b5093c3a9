"""The captioner's scaling rule: every picture reaches the encoder through one function, the same in training (scenes
rendered on their canvases) and in use (an upload), and boxes follow the pictures they frame."""
import random

import pytest
import torch
from conftest import CLASSES
from PIL import Image

from core.caption.fitting import DEFAULT_FIT, FITS, OLD_FIT, PictureFit
from core.caption.inputs import SceneMix, as_input, on_input, render_scene
from core.data.images import to_pil

SIZES = [(64, 64), (96, 64), (64, 96), (4000, 3000), (300, 40), (20, 900), (1, 1), (160, 400)]


@pytest.mark.parametrize("name", sorted(FITS))
@pytest.mark.parametrize("size", SIZES)
def test_any_picture_fits_the_rule(name, size):
    fit = FITS[name]
    pixels = fit.picture(Image.new("RGB", size, (200, 10, 10)))
    h, w = pixels.shape[1:]
    assert pixels.dtype == torch.uint8 and (w, h) == fit.input_size(*size)
    assert max(h, w) <= fit.long and min(h, w) <= fit.short
    inside = min(size) >= (fit.smallest or 0) and min(size) <= fit.short and max(size) <= fit.long
    if fit.smallest is not None and inside:
        assert (w, h) == size  # a picture already inside the bounds keeps its pixels
    else:  # scaled until one side reaches a bound
        assert max(h, w) == fit.long or min(h, w) in (fit.short, fit.smallest)
    if fit.pad:
        assert min(h, w) == fit.short


@pytest.mark.parametrize("name", sorted(FITS))
def test_both_rules_leave_the_fixed_canvases_alone(name):
    for size in ((64, 64), (96, 64), (64, 96)):
        pixels = FITS[name].picture(Image.new("RGB", size, (200, 10, 10)))
        assert tuple(pixels.shape[1:]) == size[::-1] and (pixels[0] == 200).all()


def test_todays_rule_keeps_more_pixels_of_large_pictures_and_at_least_as_many_of_small_ones():
    for size in ((4000, 3000), (160, 160), (300, 200), (160, 400)):
        assert FITS[DEFAULT_FIT].scale(*size) > OLD_FIT.scale(*size)
    for size in ((32, 32), (20, 40), (1, 1)):
        assert FITS[DEFAULT_FIT].scale(*size) >= OLD_FIT.scale(*size)


@pytest.mark.parametrize("name", sorted(FITS))
@pytest.mark.parametrize("varied_share", [0.0, 1.0])
def test_training_inputs_are_exactly_what_an_upload_of_the_same_picture_gives(tiny_dataset, name, varied_share):
    """One code path: a training batch's pixels equal each scene saved as a picture and fitted as an upload."""
    fit = FITS[name]
    mix = SceneMix(tiny_dataset.train_y, len(CLASSES), varied_share)
    scenes = mix.batch(random.Random(3), 4)
    batch = as_input(scenes, tiny_dataset.train_x, fit)
    for scene, pixels in zip(scenes, batch):
        assert torch.equal(pixels, fit.picture(to_pil(render_scene(scene, tiny_dataset.train_x))))


@pytest.mark.parametrize("fit", [OLD_FIT, PictureFit(96, 128), PictureFit(48, 64)])
def test_a_box_lands_on_the_pixels_of_its_object(fit):
    canvas = torch.zeros(3, 100, 160, dtype=torch.uint8)
    canvas[:, 20:60, 30:70] = 255  # a white object on black
    x0, y0, x1, y1 = fit.box((30, 20, 70, 60), 160, 100)
    fitted = fit.pixels(canvas)
    inside = fitted[:, y0 + 1:y1 - 1, x0 + 1:x1 - 1]
    assert inside.float().mean() > 250
    assert (fitted[0] > 192).sum() == pytest.approx((x1 - x0) * (y1 - y0), rel=0.15)  # and on nothing else


def test_objects_of_a_scene_follow_it_onto_the_input(tiny_dataset):
    mix = SceneMix(tiny_dataset.train_y, len(CLASSES), 1.0)
    fit = FITS[DEFAULT_FIT]
    for scene in mix.batch(random.Random(0), 8):
        moved = on_input(scene, fit)
        w, h = moved.size
        assert moved.size == fit.input_size(*scene.size)
        for obj in moved.objects:
            assert 0 <= obj.box[0] < obj.box[2] <= w and 0 <= obj.box[1] < obj.box[3] <= h
