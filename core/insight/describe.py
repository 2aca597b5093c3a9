"""Describe a photo in a sentence: classify windows at a few scales, keep the confident ones, merge overlapping boxes
of one class, and say where each object is. A 10-class network has no 'nothing here' class, so confidence and
entropy decide when to say that it recognises nothing it knows."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from PIL import Image, ImageDraw
from torch import nn

from core.data.images import to_model_input
from core.training.evaluate import article, predict_probabilities

SCALES = (1.0, 0.6, 0.4)  # window side as a fraction of the picture's shorter side
MIN_PROBABILITY = 0.6
MAX_ENTROPY = 0.5  # of the class distribution, as a fraction of the maximum (log of the class count)


@dataclass(frozen=True)
class Region:
    cls: str
    probability: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the picture's pixels


@dataclass(frozen=True)
class Description:
    regions: list[Region]
    sentence: str


def windows(width: int, height: int, scales=SCALES) -> list[tuple[int, int, int, int]]:
    """Square windows at `scales`, stepped by half a window, always including both edges."""
    boxes = set()
    for scale in scales:
        side = max(8, int(min(width, height) * scale))
        step = max(1, side // 2)
        xs = sorted(set(list(range(0, width - side + 1, step)) + [width - side]))
        ys = sorted(set(list(range(0, height - side + 1, step)) + [height - side]))
        boxes.update((x, y, x + side, y + side) for x in xs for y in ys)
    return sorted(boxes)


def _overlap(a, b) -> float:
    """Intersection over the smaller box: a small box inside a big one of the same class is the same object."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller else 0.0


def _merge(found: list[Region]) -> list[Region]:
    """Union same-class boxes that overlap, repeating until none do (a grown box can reach a new neighbour)."""
    regions = sorted(found, key=lambda r: -r.probability)
    changed = True
    while changed:
        changed, merged = False, []
        for region in regions:
            for i, kept in enumerate(merged):
                if kept.cls == region.cls and _overlap(kept.box, region.box) > 0.3:
                    box = (min(kept.box[0], region.box[0]), min(kept.box[1], region.box[1]),
                           max(kept.box[2], region.box[2]), max(kept.box[3], region.box[3]))
                    merged[i], changed = Region(kept.cls, kept.probability, box), True
                    break
            else:
                merged.append(region)
        regions = merged
    # one object per place: a weaker box mostly inside a stronger box of another class is a misreading of it
    kept: list[Region] = []
    for region in regions:
        if all(_overlap(region.box, k.box) <= 0.5 or k.probability < region.probability for k in kept):
            kept.append(region)
    return kept


def where(box, width: int, height: int) -> str:
    cx, cy = (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height
    horizontal = "on the left" if cx < 0.4 else "on the right" if cx > 0.6 else ""
    vertical = "near the top" if cy < 0.4 else "near the bottom" if cy > 0.6 else ""
    if horizontal and vertical:
        return f"{vertical}, {horizontal.replace('on the ', '')}"
    return horizontal or vertical or "in the middle"


def sentence(regions: list[Region], width: int, height: int, classes) -> str:
    if not regions:
        return (f"I don't recognise anything I know here; this network only knows {', '.join(classes[:-1])} "
                f"and {classes[-1]}.")
    parts = [f"{article(r.cls)} {r.cls} {where(r.box, width, height)}" for r in regions[:4]]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"I see {listed}."


@torch.no_grad()
def describe(model: nn.Module, classes, picture: Image.Image, device="cpu", scales=SCALES) -> Description:
    width, height = picture.size
    boxes = windows(width, height, scales)
    crops = torch.stack([to_model_input(picture.crop(box)) for box in boxes])
    probs = predict_probabilities(model, crops, device)
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1) / math.log(len(classes))
    best = probs.max(1)
    found = [Region(classes[int(c)], float(p), box)
             for box, p, c, e in zip(boxes, best.values, best.indices, entropy)
             if p >= MIN_PROBABILITY and e <= MAX_ENTROPY]
    regions = _merge(found)
    regions.sort(key=lambda r: (r.box[0] + r.box[2], r.box[1] + r.box[3]))  # read left to right
    return Description(regions, sentence(regions, width, height, list(classes)))


def draw_boxes(picture: Image.Image, regions: list[Region]) -> Image.Image:
    out = picture.convert("RGB").copy()
    pen = ImageDraw.Draw(out)
    line = max(2, min(out.size) // 100)
    for r in regions:
        pen.rectangle(r.box, outline=(228, 87, 46), width=line)
        pen.text((r.box[0] + line + 2, r.box[1] + line + 2), f"{r.cls} {r.probability:.0%}", fill=(255, 255, 255),
                 stroke_width=2, stroke_fill=(0, 0, 0))
    return out
