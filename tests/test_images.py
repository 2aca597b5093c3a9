"""Decoding uploads by content, and the one 32x32 conversion every path uses."""
import io

import pytest
from PIL import Image

from core.data import images
from core.data.images import ImageError, decode_image, to_model_input


def encode(image: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("data,message", [
    (b"", "is empty"),
    (b"hello, I am text", "is not an image"),
    (b"%PDF-1.4 fake", "is not an image"),
    (b"\x7fELF\x02\x01\x01" + bytes(200), "is not an image"),  # an executable renamed .png
])
def test_non_images_are_refused_by_content(data, message):
    with pytest.raises(ImageError, match=message):
        decode_image(data, "x.png")


def test_truncated_png_is_refused():
    data = encode(Image.new("RGB", (64, 64), (1, 2, 3)))
    with pytest.raises(ImageError, match="damaged or truncated"):
        decode_image(data[: len(data) // 2], "cut.png")


def test_decompression_bomb_is_refused_from_the_header(monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(ImageError, match="101x100 pixels; the limit is 10,000"):
        decode_image(encode(Image.new("L", (101, 100))), "bomb.png")


def test_rgba_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert decode_image(encode(rgba)).getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "CMYK", "1"])
def test_awkward_modes_become_rgb(mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    assert decode_image(encode(Image.new(mode, (5, 7)), fmt)).mode == "RGB"


def test_to_model_input_center_crops_and_resizes():
    image = Image.new("RGB", (300, 100), (0, 0, 255))
    image.paste((255, 0, 0), (100, 0, 200, 100))  # the red centre square is what the model should see
    x = to_model_input(image)
    assert x.shape == (3, 32, 32)
    assert x[0].float().mean() > 250 and x[2].float().mean() < 5


def test_every_fit_makes_any_shape_square_its_own_way():
    image = Image.new("RGB", (300, 100), (0, 0, 255))
    image.paste((255, 0, 0), (100, 0, 200, 100))  # blue | red | blue, side by side
    crop, squash, pad = (to_model_input(image, fit).float() for fit in ("crop", "squash", "pad"))
    assert crop[0].mean() > 250  # the red centre square only
    assert squash[2, :, :8].mean() > 250 and squash[0, :, 13:19].mean() > 250  # all three thirds, stretched
    assert pad[:, :10].flatten(1).std(1).max() < 3 and pad[:, 12:20].max(0).values.mean() > 200  # flat, then the picture
    for v in (crop, squash, pad):
        assert v.shape == (3, 32, 32)
    with pytest.raises(ValueError, match="fit must be one of crop, squash, pad"):
        to_model_input(image, "zoom")
