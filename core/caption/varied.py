"""Varied scenes, drawn the way photos vary: canvases of any aspect ratio, one to three CIFAR-10 pictures at any size
and position, on plain, noisy or blurred-photo backgrounds; captioned by the fixed scenes' grammar from the geometry.

The fixed scenes (`scenes.py`) put 20-32 px objects in slots on three canvases, so a captioner trained on them reads
nothing else (issue 33). Here each object's place and the scene's layout are read from the boxes (`arrangement.py`),
and a scene the grammar cannot describe unambiguously is re-drawn, so every caption is right."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from core.caption.arrangement import CENTRE, EDGE, arrangement, overlap_ok, size_word
from core.caption.fitting import resized
from core.caption.scenes import (
    LAYOUT_PLACES,
    SIDE,
    Captioned,
    SceneObject,
    held_out,
)
from core.data.dataset import DataError

BLUR = 3  # the background's box blur, in pixels of the 8-32 px crop (applied twice: close to a Gaussian)
BACKGROUNDS = ("plain", "noise", "blur")


@dataclass(frozen=True)
class VariedRange:
    """What a sampler may draw. Objects are square (CIFAR pictures keep their shape), from `min_object` px to the
    canvas's short side."""
    short_side: tuple[int, int] = (64, 128)  # the canvas's shorter side, in pixels, both ends included
    max_aspect: float = 2.0  # long side / short side at most, either way round (2.0: from 1:2 to 2:1)
    min_object: int = 16  # an object's smallest side, in pixels
    max_objects: int = 3  # one to this many objects, 1..3 (the grammar's layouts hold no more)
    backgrounds: tuple[str, ...] = BACKGROUNDS  # drawn with equal chance


TRAIN_RANGE = VariedRange()
# The test set reaches past training where a photo would: larger canvases and a panorama's 5:2.
TEST_RANGE = VariedRange(short_side=(64, 160), max_aspect=2.5)


@dataclass(frozen=True)
class Backdrop:
    kind: str  # "plain", "noise" or "blur"
    colour: tuple[int, int, int] = (0, 0, 0)  # plain: RGB
    seed: int = 0  # noise: the seed of its pixels
    image: int = -1  # blur: the index, in the scene's split, of the picture a crop is taken from
    crop: tuple[int, int, int, int] = (0, 0, SIDE, SIDE)  # blur: x0, y0, x1, y1 on that picture


@dataclass(frozen=True)
class VariedScene(Captioned):
    width: int
    height: int
    layout: str  # the grammar's layout the boxes form (arrangement.py)
    objects: tuple[SceneObject, ...]  # in reading order; box in canvas pixels, square
    backdrop: Backdrop

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


# ----------------------------------------------------------------------------------------------------------------
# sampling

SINGLE_ZONES = {"left": ("low", "middle"), "right": ("high", "middle"), "top": ("middle", "low"),
                "bottom": ("middle", "high"), "middle": ("middle", "middle")}  # place -> (x zone, y zone)
LINE_ZONES = {2: ("low", "high"), 3: ("low", "middle", "high")}  # a row's (column's) zones in reading order
TRIES = 1000  # re-draws before a sampler gives up: the draw is built to fit, so a handful is usual


def _log_uniform(rng: random.Random, low: float, high: float) -> int:
    """Sizes spread evenly over scale: as many 16-32 px objects as 32-64 px ones."""
    return round(math.exp(rng.uniform(math.log(low), math.log(high))))


def _in_zone(rng: random.Random, zone: str, length: int, side: int) -> float | None:
    """A centre along one axis that lies in `zone` and keeps the object inside the canvas; None if none can."""
    low, high = side / 2, length - side / 2
    if zone == "low":
        high = min(high, EDGE * length - 0.5)
    elif zone == "high":
        low = max(low, (1 - EDGE) * length + 0.5)
    else:
        low, high = max(low, (0.5 - CENTRE) * length + 0.5), min(high, (0.5 + CENTRE) * length - 0.5)
    return rng.uniform(low, high) if low <= high else None


def _box(cx: float, cy: float, side: int, width: int, height: int) -> tuple[int, int, int, int]:
    x0 = min(max(0, round(cx - side / 2)), width - side)
    y0 = min(max(0, round(cy - side / 2)), height - side)
    return x0, y0, x0 + side, y0 + side


class VariedSampler:
    """Draws varied scenes from one split's pictures (`labels` is that split's labels; every index a scene holds points
    into it). `held` keeps the fixed scenes' held-out pairs apart, as `SceneSampler` does: "exclude" or "only"."""

    def __init__(self, labels: torch.Tensor, n_classes: int, extent: VariedRange = TRAIN_RANGE, held: str = "exclude"):
        self.by_class = [torch.nonzero(labels == c).flatten().tolist() for c in range(n_classes)]
        self.n_pictures, self.n_classes, self.extent, self.held = len(labels), n_classes, extent, held
        if any(not pictures for pictures in self.by_class):
            missing = [c for c, pictures in enumerate(self.by_class) if not pictures]
            raise ValueError(f"scenes need pictures of every class; class {missing[0]} has none in this split")

    def scene(self, rng: random.Random, canvas: tuple[int, int] | None = None) -> VariedScene:
        """One scene, on a canvas (width, height) of its own or the one given (a training batch shares one)."""
        for _ in range(TRIES):
            scene = self._draw(rng, canvas or self.canvas(rng))
            if scene is not None:
                return scene
        raise RuntimeError(f"no unambiguous scene in {TRIES} draws for {self.extent}")

    def canvas(self, rng: random.Random) -> tuple[int, int]:
        """(width, height) within the range: the short side uniform, the aspect ratio log-uniform, either way round."""
        short = rng.randint(*self.extent.short_side)
        long = round(short * math.exp(rng.uniform(0, math.log(self.extent.max_aspect))))
        return (long, short) if rng.random() < 0.5 else (short, long)

    def _draw(self, rng: random.Random, canvas: tuple[int, int]) -> VariedScene | None:
        """One try: a layout, sizes and centres drawn inside the layout's zones; None if the boxes, once rounded to
        pixels, do not read back as that layout (arrangement.py) or overlap too much."""
        width, height = canvas
        n = 2 if self.held == "only" else rng.randint(1, self.extent.max_objects)  # held-out pairs are pairs
        if n == 1:
            layout, place = "single", rng.choice(tuple(SINGLE_ZONES))
            boxes = self._single(rng, place, width, height)
        else:
            layout = rng.choice((f"row{n}", f"column{n}"))
            boxes = self._line(rng, n, layout.startswith("row"), width, height)
        if boxes is None or not overlap_ok(boxes):
            return None
        reading = arrangement(boxes, width, height)
        places = (place,) if layout == "single" else LAYOUT_PLACES[layout]
        if reading is None or (reading.layout, reading.order, reading.places) != (layout, tuple(range(n)), places):
            return None
        small = size_word(boxes[0][2] - boxes[0][0], width, height) if n == 1 else False
        if small is None:
            return None
        labels = self._labels(rng, layout, n)
        objects = tuple(SceneObject(label, rng.choice(self.by_class[label]), where, box, small)
                        for label, where, box in zip(labels, places, boxes))
        return VariedScene(width, height, layout, objects, self._backdrop(rng, {o.image for o in objects}))

    def _single(self, rng: random.Random, place: str, width: int, height: int) -> list | None:
        side = _log_uniform(rng, self.extent.min_object, min(width, height))
        zx, zy = SINGLE_ZONES[place]
        cx, cy = _in_zone(rng, zx, width, side), _in_zone(rng, zy, height, side)
        return None if cx is None or cy is None else [_box(cx, cy, side, width, height)]

    def _line(self, rng: random.Random, n: int, row: bool, width: int, height: int) -> list | None:
        """A row (or column) of n objects: each centre in its zone along the line, all near one line across it."""
        along, across = (width, height) if row else (height, width)
        sides = [_log_uniform(rng, self.extent.min_object, min(width, height, along // n)) for _ in range(n)]
        mains = [_in_zone(rng, zone, along, side) for zone, side in zip(LINE_ZONES[n], sides)]
        if None in mains:
            return None
        line = rng.uniform(max(sides) / 2, across - max(sides) / 2)
        crosses = [min(max(line + rng.uniform(-0.1, 0.1) * across, s / 2), across - s / 2) for s in sides]
        return [_box(m, c, s, width, height) if row else _box(c, m, s, width, height)
                for m, c, s in zip(mains, crosses, sides)]

    def _labels(self, rng: random.Random, layout: str, n: int) -> tuple[int, ...]:
        for _ in range(TRIES):  # bounded: with very few classes, no pair may be held out at all
            labels = tuple(rng.randrange(self.n_classes) for _ in range(n))
            if n == 2 and rng.random() < 0.15:
                labels = (labels[0], labels[0])  # as in the fixed scenes: say "two" more often than chance would
            if held_out(layout, labels) == (self.held == "only"):
                return labels
        raise DataError(f"no {layout} of {self.n_classes} classes is {'held out' if self.held == 'only' else 'trained'}"
                        f" in {TRIES} draws; held-out pairs need at least four classes")

    def _backdrop(self, rng: random.Random, used: set[int]) -> Backdrop:
        kind = rng.choice(self.extent.backgrounds)
        if kind == "plain":
            return Backdrop(kind, colour=tuple(rng.randint(0, 255) for _ in range(3)))
        if kind == "noise":
            return Backdrop(kind, seed=rng.getrandbits(31))
        image = rng.randrange(self.n_pictures)
        while image in used and self.n_pictures > len(used):  # another picture than the objects', of the same split
            image = rng.randrange(self.n_pictures)
        side = rng.randint(8, SIDE)  # a crop of 8 px upscaled is a blur of colour; 32 px, a blurred scene
        x0, y0 = rng.randint(0, SIDE - side), rng.randint(0, SIDE - side)
        return Backdrop(kind, image=image, crop=(x0, y0, x0 + side, y0 + side))


# ----------------------------------------------------------------------------------------------------------------
# drawing


def _background(backdrop: Backdrop, width: int, height: int, pictures: torch.Tensor) -> torch.Tensor:
    if backdrop.kind == "plain":
        return torch.tensor(backdrop.colour, dtype=torch.uint8)[:, None, None].expand(3, height, width).clone()
    if backdrop.kind == "noise":
        noise = np.random.default_rng(backdrop.seed).integers(0, 256, (3, height, width), dtype=np.uint8)
        return torch.from_numpy(noise)
    x0, y0, x1, y1 = backdrop.crop
    crop = pictures[backdrop.image][:, y0:y1, x0:x1].float()[None]
    for _ in range(2):  # blurred on the crop's few pixels, not the canvas's many: the upscale then blurs it further
        crop = F.avg_pool2d(crop, BLUR, stride=1, padding=BLUR // 2, count_include_pad=False)
    return resized(crop[0].round().to(torch.uint8), height, width)


def render_varied(scene: VariedScene, pictures: torch.Tensor) -> torch.Tensor:
    """One varied scene as uint8 (3, H, W): the background, then each picture scaled into its box, in reading order
    (where two touch, the later one is on top; they share at most arrangement.OVERLAP of the smaller one)."""
    canvas = _background(scene.backdrop, scene.width, scene.height, pictures)
    for obj in scene.objects:
        x0, y0, x1, y1 = obj.box
        canvas[:, y0:y1, x0:x1] = resized(pictures[obj.image], y1 - y0, x1 - x0)
    return canvas


# ----------------------------------------------------------------------------------------------------------------
# the fixed varied test set

VARIED_TEST_SEED = 20_270_331  # not the fixed scenes' TEST_SEED: a second, independent test set


@lru_cache(maxsize=4)
def _fixed(labels_key: tuple[int, ...], n_classes: int, count: int, seed: int) -> tuple[VariedScene, ...]:
    sampler = VariedSampler(torch.tensor(labels_key), n_classes, TEST_RANGE)
    rng = random.Random(seed)
    return tuple(sampler.scene(rng) for _ in range(count))


def varied_test_scenes(test_labels: torch.Tensor, n_classes: int, count: int = 600,
                       seed: int = VARIED_TEST_SEED) -> list[VariedScene]:
    """The fixed varied test scenes, from test pictures only and TEST_RANGE: the same for every run and model."""
    return list(_fixed(tuple(test_labels.tolist()), n_classes, count, seed))
