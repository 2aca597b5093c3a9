"""Varied scenes as a specification: every caption says what the boxes show, read back here by the test's own rule;
sizes and canvases stay in range; splits never mix; the varied test set is fixed by its seed; grouped scores count
every object once."""
import random
from collections import Counter
from itertools import pairwise

import pytest
import torch
import torch.nn.functional as F
from conftest import CLASSES
from hypothesis import given, settings
from hypothesis import strategies as st

from core.caption.arrangement import arrangement, overlap_ok, size_word
from core.caption.scenes import (
    LAYOUTS,
    MIDDLE,
    SINGLE_PLACES,
    held_out,
    place_of,
    sentence_meanings,
)
from core.caption.varied import (
    BACKGROUNDS,
    TEST_RANGE,
    TRAIN_RANGE,
    VariedRange,
    VariedSampler,
    render_varied,
    varied_test_scenes,
)
from core.caption.varied_scores import SIZE_GROUPS, score_varied, size_group

# Two splits whose labels disagree at every shared index: a scene that reads its labels from the wrong split is caught.
TRAIN_Y = torch.arange(10).repeat(6)  # 60 pictures, label i % 10
TEST_Y = (torch.arange(30) + 3) % 10  # 30 pictures, label (i + 3) % 10
PICTURES = torch.randint(0, 256, (60, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
RANGES = {"train": TRAIN_RANGE, "test": TEST_RANGE}


def read_back(scene, labels) -> tuple[tuple[str, str], ...]:
    """The test's own reading of a scene, from its boxes and its split's labels only: each object's class, and its
    place from its centre against the canvas (the fixed scenes' `place_of` for one object; for several, the axis they
    spread along, in order, each on the side of the canvas's centre that its word says)."""
    width, height = scene.size
    boxes = [o.box for o in scene.objects]
    names = [CLASSES[int(labels[o.image])] for o in scene.objects]
    if len(boxes) == 1:
        return ((names[0], place_of(boxes[0], width, height)),)
    centres = [((x0 + x1) / 2, (y0 + y1) / 2) for x0, y0, x1, y1 in boxes]
    spread = [max(c[a] for c in centres) - min(c[a] for c in centres) for a in (0, 1)]
    axis = 0 if spread[0] > spread[1] else 1
    words = {2: ("left", "right"), 3: ("left", "middle", "right")}[len(boxes)]
    if axis == 1:
        words = tuple({"left": "top", "right": "bottom"}.get(w, w) for w in words)
    order = sorted(range(len(boxes)), key=lambda i: centres[i][axis])
    for word, i in zip(words, order):
        f = centres[i][axis] / scene.size[axis] - 0.5
        assert (f < -MIDDLE) if word in ("left", "top") else (f > MIDDLE) if word in ("right", "bottom") else \
            abs(f) < MIDDLE, (word, f)
    for a, b in pairwise(order):  # neighbours: farther apart along the line than across it (no diagonal)
        assert abs(centres[b][1 - axis] - centres[a][1 - axis]) < centres[b][axis] - centres[a][axis]
    return tuple(sorted((names[i], word) for i, word in zip(order, words)))


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), split=st.sampled_from(sorted(RANGES)))
def test_every_caption_of_a_varied_scene_means_what_its_boxes_show(seed, split):
    """Property: count, class and place of each object, recomputed from the boxes, are what every reference caption
    means; every object is square, in size range and inside the canvas; no two overlap more than a little."""
    labels, extent = (TRAIN_Y, TRAIN_RANGE) if split == "train" else (TEST_Y, TEST_RANGE)
    scene = VariedSampler(labels, 10, extent).scene(random.Random(seed))
    width, height = scene.size
    short, long = min(width, height), max(width, height)
    assert extent.short_side[0] <= short <= extent.short_side[1] and long / short <= extent.max_aspect + 0.5 / short
    assert 1 <= len(scene.objects) <= extent.max_objects
    for obj in scene.objects:
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 and 0 <= y0 and x1 <= width and y1 <= height
        assert x1 - x0 == y1 - y0 and extent.min_object <= x1 - x0 <= short
        assert obj.small == (len(scene.objects) == 1 and x1 - x0 < 0.4 * short)
    for i, a in enumerate(scene.objects):
        for b in scene.objects[i + 1:]:
            shared = max(0, min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])) * \
                max(0, min(a.box[3], b.box[3]) - max(a.box[1], b.box[1]))
            assert shared <= 0.1 * min(a.box[2] - a.box[0], b.box[2] - b.box[0]) ** 2
    truth = read_back(scene, labels)
    table = sentence_meanings(tuple(CLASSES))
    assert truth == scene.meaning(CLASSES)
    assert all(table[caption] == truth for caption in scene.captions(CLASSES))
    assert scene.training_captions(CLASSES) and set(scene.training_captions(CLASSES)) <= set(scene.captions(CLASSES))


@pytest.mark.parametrize("split", sorted(RANGES))
def test_scenes_use_only_their_own_splits_pictures(split):
    """Objects and blurred backgrounds alike index into the split the sampler was given, never the other one."""
    own, other = (TRAIN_Y, TEST_Y) if split == "train" else (TEST_Y, TRAIN_Y)
    rng = random.Random(5)
    scenes = [VariedSampler(own, 10, RANGES[split]).scene(rng) for _ in range(500)]
    if split == "test":
        scenes += varied_test_scenes(TEST_Y, 10, 300)
    for scene in scenes:
        assert all(o.image < len(own) and int(own[o.image]) == o.label for o in scene.objects)
        if scene.backdrop.kind == "blur":
            assert 0 <= scene.backdrop.image < len(own)
            assert scene.backdrop.image not in {o.image for o in scene.objects}  # another picture
    shared = [o for s in scenes for o in s.objects if o.image < len(other)]
    assert shared and not any(int(other[o.image]) == o.label for o in shared)


def test_the_varied_test_set_is_fixed_by_its_seed_and_reaches_past_training():
    first = varied_test_scenes(TEST_Y, 10, 300)
    assert first == varied_test_scenes(TEST_Y, 10, 300)
    assert first != varied_test_scenes(TEST_Y, 10, 300, seed=1)
    shorts = [min(s.size) for s in first]
    aspects = [max(s.size) / min(s.size) for s in first]
    assert max(shorts) > TRAIN_RANGE.short_side[1] and max(aspects) > TRAIN_RANGE.max_aspect  # wider than training
    assert max(shorts) <= TEST_RANGE.short_side[1] and max(aspects) <= TEST_RANGE.max_aspect + 0.01


def test_the_generator_varies_what_photos_vary():
    """Over many draws: every layout, place, background and size group; wide and tall; "small" said and not."""
    rng = random.Random(7)
    scenes = [VariedSampler(TRAIN_Y, 10).scene(rng) for _ in range(1500)]
    assert {s.layout for s in scenes} == set(LAYOUTS)
    assert {s.objects[0].place for s in scenes if s.layout == "single"} == set(SINGLE_PLACES)
    assert {s.objects[0].small for s in scenes if s.layout == "single"} == {True, False}
    assert {s.backdrop.kind for s in scenes} == set(BACKGROUNDS)
    assert {size_group(o.box[2] - o.box[0]) for s in scenes for o in s.objects} == set(SIZE_GROUPS)
    assert any(s.width > s.height for s in scenes) and any(s.width < s.height for s in scenes)
    assert len({o.box for s in scenes for o in s.objects}) > 0.9 * sum(len(s.objects) for s in scenes)  # not slots
    assert not any(held_out(s.layout, tuple(o.label for o in s.objects)) for s in scenes)


def test_a_held_out_sampler_draws_only_the_held_out_pairs():
    rng = random.Random(8)
    scenes = [VariedSampler(TRAIN_Y, 10, held="only").scene(rng) for _ in range(200)]
    assert all(held_out(s.layout, tuple(o.label for o in s.objects)) for s in scenes)


@pytest.mark.parametrize("split", sorted(RANGES))
def test_rendering_gives_the_canvas_with_each_picture_scaled_into_its_box(split):
    rng = random.Random(9)
    labels = TRAIN_Y if split == "train" else TEST_Y
    for scene in (VariedSampler(labels, 10, RANGES[split]).scene(rng) for _ in range(12)):
        pixels = render_varied(scene, PICTURES)
        assert pixels.shape == (3, scene.height, scene.width) and pixels.dtype == torch.uint8
        assert torch.equal(pixels, render_varied(scene, PICTURES))  # noise and blur are seeded
        last = scene.objects[-1]  # drawn last, so nothing covers it
        x0, y0, x1, y1 = last.box
        expected = F.interpolate(PICTURES[last.image][None].float(), size=(y1 - y0, x1 - x0), mode="bilinear",
                                 antialias=True, align_corners=False)[0]
        assert (pixels[:, y0:y1, x0:x1].float() - expected).abs().max() <= 1


def test_a_plain_background_is_its_colour_outside_the_objects():
    rng = random.Random(10)
    sampler = VariedSampler(TRAIN_Y, 10, VariedRange(backgrounds=("plain",)))
    scene = sampler.scene(rng)
    pixels = render_varied(scene, PICTURES)
    mask = torch.ones(scene.height, scene.width, dtype=torch.bool)
    for x0, y0, x1, y1 in (o.box for o in scene.objects):
        mask[y0:y1, x0:x1] = False
    assert torch.equal(pixels[:, mask], torch.tensor(scene.backdrop.colour, dtype=torch.uint8)[:, None]
                       .expand(3, int(mask.sum())))


@pytest.mark.parametrize("boxes, size, reading", [
    ([(0, 40, 32, 72)], (160, 112), ("single", ("left",))),
    ([(64, 40, 96, 72)], (160, 112), ("single", ("middle",))),
    ([(0, 0, 32, 32)], (160, 112), None),  # a corner: left or top?
    ([(40, 40, 72, 72)], (160, 112), None),  # between left and middle
    ([(10, 40, 40, 70), (120, 30, 150, 60)], (160, 112), ("row2", ("left", "right"))),
    ([(120, 30, 150, 60), (10, 40, 40, 70)], (160, 112), ("row2", ("left", "right"))),  # any order of boxes
    ([(0, 0, 32, 32), (120, 80, 152, 112)], (160, 112), None),  # a diagonal
    ([(40, 0, 72, 30), (40, 40, 72, 72), (40, 90, 72, 122)], (112, 128), ("column3", ("top", "middle", "bottom"))),
    ([(0, 0, 20, 20), (30, 0, 50, 20)], (160, 112), None),  # both on the left: not "left and right"
])
def test_the_arrangement_is_read_from_the_boxes_or_refused(boxes, size, reading):
    found = arrangement(boxes, *size)
    assert ((found.layout, found.places) if found else None) == reading


def test_overlap_and_size_rules():
    assert overlap_ok([(0, 0, 32, 32), (32, 0, 64, 32)])  # touching
    assert overlap_ok([(0, 0, 32, 32), (29, 0, 61, 32)])  # 3 of 32 columns shared: under a tenth
    assert not overlap_ok([(0, 0, 32, 32), (16, 0, 48, 32)])
    assert size_word(20, 96, 64) is True and size_word(32, 96, 64) is False  # the fixed scenes' sizes read the same
    assert size_word(26, 96, 64) is None  # in between: re-drawn


@pytest.mark.parametrize("side, group", [(16, "small"), (31, "small"), (32, "medium"), (63, "medium"),
                                         (64, "large"), (160, "large")])
def test_size_groups(side, group):
    assert size_group(side) == group


def test_grouped_scores_count_every_scene_and_object_once():
    scenes = varied_test_scenes(TEST_Y, 10, 200)
    perfect = score_varied([s.captions(CLASSES)[0] for s in scenes], scenes, CLASSES)
    objects = Counter(size_group(o.box[2] - o.box[0]) for s in scenes for o in s.objects)
    assert {g: n for g, (n, _) in perfect.objects_by_size.items()} == {g: objects[g] for g in SIZE_GROUPS}
    assert all(named == n for n, named in perfect.objects_by_size.values())
    assert perfect.overall.exact == 1.0 and perfect.overall.scenes == 200
    assert sum(s.scenes for s in perfect.by_count.values()) == 200 and set(perfect.by_count) == {1, 2, 3}
    assert sum(s.scenes for s in perfect.by_size.values()) == 200
    assert perfect.no_small.scenes == perfect.by_size["medium"].scenes + perfect.by_size["large"].scenes
    assert all(s.exact == 1.0 for s in perfect.by_count.values())
    # right on the one-object scenes only: exact is 1 there, 0 elsewhere, and the objects named are exactly those
    half = score_varied([s.captions(CLASSES)[0] if len(s.objects) == 1 else "a cat" for s in scenes], scenes,
                        CLASSES)
    assert half.by_count[1].exact == 1.0 and half.by_count[2].exact == half.by_count[3].exact == 0.0
    singles = Counter(size_group(s.objects[0].box[2] - s.objects[0].box[0]) for s in scenes if len(s.objects) == 1)
    assert {g: named for g, (_, named) in half.objects_by_size.items()} == {g: singles[g] for g in SIZE_GROUPS}
