"""Reading a scene's layout from its object boxes alone: which of the grammar's layouts the boxes form and each object's
place word, or None where a person could read the picture two ways (a diagonal pair, an object in a corner).

Varied scenes put objects anywhere, so their captions cannot come from slots; they come from here. A generator re-draws
any scene this module calls ambiguous, so every caption it writes is one a careful person would agree with."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from core.caption.scenes import LAYOUT_PLACES, MIDDLE

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 on the canvas, in pixels

# Place words per axis: a centre is judged against the canvas, as a fraction of the canvas's side along that axis.
EDGE = 0.35  # a centre below this fraction is on the left (top); above 1 - EDGE it is on the right (bottom)
CENTRE = 0.09  # a centre within this fraction of the canvas's middle is in the middle
# Between them (0.35-0.41 and 0.59-0.65) a place is ambiguous and the scene is re-drawn. Both rules sit inside the
# fixed scenes' `place_of` (MIDDLE 0.12), so `place_of` reads every single object of a varied scene the same way.
assert CENTRE < MIDDLE < 0.5 - EDGE
ALIGN = 0.5  # a row's neighbours: vertical offset at most this share of their horizontal distance (columns: turned)
OVERLAP = 0.1  # two objects may share at most this share of the smaller one's area: touching is fine, hiding is not
# "small" is said of a single object only (the grammar's rule), relative to the canvas as a person judges it. The fixed
# scenes call 20 px on a 64 px side small (0.31) and 32 px not (0.50); sizes between these are re-drawn.
SMALL_BELOW = 0.35  # side / canvas short side under this: "small"
LARGE_FROM = 0.45  # side / canvas short side from this up: said without a size word

WORDS = ({"low": "left", "middle": "middle", "high": "right"},  # the horizontal axis
         {"low": "top", "middle": "middle", "high": "bottom"})  # the vertical axis


@dataclass(frozen=True)
class Arrangement:
    layout: str  # one of the grammar's layouts: single, row2, column2, row3, column3
    order: tuple[int, ...]  # indices of the boxes in reading order (left to right, top to bottom)
    places: tuple[str, ...]  # each object's place word, in reading order


def centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def zone(position: float, length: int) -> str | None:
    """Where a centre lies along one axis: "low", "middle", "high", or None in the bands between them."""
    fraction = position / length
    if fraction < EDGE:
        return "low"
    if fraction > 1 - EDGE:
        return "high"
    return "middle" if abs(fraction - 0.5) < CENTRE else None


def single_place(box: Box, width: int, height: int) -> str | None:
    """A lone object's place: off-centre along one axis and central along the other; a corner is ambiguous."""
    cx, cy = centre(box)
    zones = (zone(cx, width), zone(cy, height))
    if None in zones:
        return None
    if zones == ("middle", "middle"):
        return "middle"
    if zones[1] == "middle":
        return WORDS[0][zones[0]]
    return WORDS[1][zones[1]] if zones[0] == "middle" else None


def size_word(side: int, width: int, height: int) -> bool | None:
    """Whether a single object is called "small"; None for a size between small and not."""
    share = side / min(width, height)
    return True if share < SMALL_BELOW else False if share >= LARGE_FROM else None


def overlap_ok(boxes: list[Box]) -> bool:
    """No two boxes share more than OVERLAP of the smaller one's area."""
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            shared = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
            smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
            if shared > OVERLAP * smaller:
                return False
    return True


def _line(boxes: list[Box], axis: int, lengths: tuple[int, int]) -> Arrangement | None:
    """The boxes read as a row (axis 0) or a column (axis 1), if they are one: in reading order each lies in the zone
    the layout names for it, and neighbours are aligned (the cross offset is small against the distance along)."""
    n = len(boxes)
    layout = f"{'row' if axis == 0 else 'column'}{n}"
    order = tuple(sorted(range(n), key=lambda i: centre(boxes[i])[axis]))
    centres = [centre(boxes[i]) for i in order]
    words = tuple(WORDS[axis].get(zone(c[axis], lengths[axis])) for c in centres)
    if words != LAYOUT_PLACES[layout]:
        return None
    for a, b in pairwise(centres):
        if abs(b[1 - axis] - a[1 - axis]) > ALIGN * (b[axis] - a[axis]):
            return None  # a diagonal: "left of" and "above" would both be true
    return Arrangement(layout, order, words)


def arrangement(boxes: list[Box], width: int, height: int) -> Arrangement | None:
    """The grammar's reading of these boxes on a width x height canvas, or None where it has no single one."""
    if len(boxes) == 1:
        place = single_place(boxes[0], width, height)
        return Arrangement("single", (0,), (place,)) if place else None
    if not 2 <= len(boxes) <= 3:
        return None  # the grammar's layouts hold one to three objects
    readings = [r for r in (_line(boxes, 0, (width, height)), _line(boxes, 1, (width, height))) if r]
    return readings[0] if len(readings) == 1 else None
