"""Scenes composed from CIFAR-10 pictures: their captions say exactly what is where, and splits never mix."""
import random

import pytest
import torch
from conftest import CLASSES
from hypothesis import given, settings
from hypothesis import strategies as st

from core.caption.scenes import (
    CANVASES,
    FITS,
    LAYOUTS,
    MAX_WORDS,
    SMALL,
    SceneSampler,
    evaluation_scenes,
    held_out,
    phrasings,
    place_of,
    render,
    render_batch,
    sentence_meanings,
    taught,
    vocabulary,
    with_articles,
)

LABELS = torch.arange(10).repeat(5)  # 5 pictures of each class
PICTURES = torch.randint(0, 256, (50, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), canvas=st.sampled_from(sorted(CANVASES)))
def test_every_caption_of_a_scene_means_its_layout(seed, canvas):
    """Property: each object sits where its place says, and every reference caption parses back to the scene's
    (class, place) list, counts included."""
    scene = SceneSampler(LABELS, 10).scene(random.Random(seed), canvas)
    width, height = scene.size
    assert scene.layout in FITS[canvas]
    for obj in scene.objects:
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert place_of(obj.box, width, height) == obj.place
        assert int(LABELS[obj.image]) == obj.label
    boxes = [o.box for o in scene.objects]
    assert all(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
               for i, a in enumerate(boxes) for b in boxes[i + 1:]), "objects overlap"
    table = sentence_meanings(tuple(CLASSES))
    captions = scene.captions(CLASSES)
    assert len(captions) >= 2 and len(set(captions)) == len(captions)
    assert all(table[c] == scene.meaning(CLASSES) for c in captions)
    taught = scene.training_captions(CLASSES)
    assert taught and set(taught) <= set(captions)
    names = [CLASSES[o.label] for o in scene.objects]  # reading order: each taught caption names them in this order
    if len(set(names)) > 1:  # (a same-class group is counted, not listed)
        assert all([w for w in c.split() if w in CLASSES] == names for c in taught), (taught, names)


def test_the_grammar_never_says_two_meanings_with_one_sentence():
    table = {}
    for layout in LAYOUTS:
        for names in ([("cat",), ("dog",)] if layout == "single" else [("cat", "dog", "ship"), ("cat", "cat", "cat")]):
            for text in phrasings(layout, names[:2] if layout in ("row2", "column2") else names):
                assert text not in table, text
                table[text] = layout
    meanings = sentence_meanings(tuple(CLASSES))
    assert max(len(text.split()) for text in meanings) == MAX_WORDS


def test_a_same_class_group_listed_object_by_object_means_the_same_as_counted():
    table = sentence_meanings(tuple(CLASSES))
    assert table["a truck on the left and a truck on the right"] == table["two trucks side by side"]
    assert table["a cat above a cat"] == table["two cats one above the other"]
    assert table["a deer a deer and a deer from left to right"] == table["three deer in a row"]
    assert "a truck on the left and a truck on the right" not in phrasings("row2", ("truck", "truck"))  # not a reference


def test_counts_and_articles_read_as_english():
    assert phrasings("row2", ("cat", "cat"))[0] == "two cats side by side"
    assert phrasings("column3", ("deer",) * 3)[0] == "three deer one above the other"
    assert phrasings("single", ("airplane",), "left", small=True)[0] == "a small airplane on the left"
    assert phrasings("single", ("airplane",), "middle")[0] == "an airplane in the middle"
    assert phrasings("column2", ("horse", "frog"))[0] == "a horse above a frog"


def test_captions_are_taught_with_one_article_and_every_sentence_gets_its_own_back():
    """The captioner writes "a" where the grammar says "an" (the right one depends on the word it has not written
    yet); putting the articles back recovers every sentence the grammar can say, word for word."""
    sentences = sentence_meanings(tuple(CLASSES))
    assert any(" an " in f" {text} " for text in sentences)
    for text in sentences:
        plain = taught(text)
        assert "an" not in plain.split() and len(plain.split()) == len(text.split())
        assert with_articles(plain.split()) == text.split()
    assert with_articles(["a", "small", "airplane", "and", "an", "cat", "a"]) == \
        ["a", "small", "airplane", "and", "a", "cat", "a"]


def test_vocabulary_is_fixed_by_the_classes_and_covers_every_caption():
    vocab = vocabulary(CLASSES)
    assert vocab[:4] == ["<pad>", "<start>", "<end>", "<unk>"] and vocab == vocabulary(list(CLASSES))
    words = set(vocab)
    assert all(set(text.split()) <= words for text in sentence_meanings(tuple(CLASSES)))


def test_training_never_draws_a_held_out_pair_and_the_held_out_set_has_only_those():
    rng = random.Random(1)
    train = SceneSampler(LABELS, 10, held="exclude")
    assert not any(held_out(s.layout, tuple(o.label for o in s.objects)) for s in
                   (train.scene(rng) for _ in range(3000)))
    held = evaluation_scenes(LABELS, 10, 100, held="only")
    assert all(s.layout in ("row2", "column2") and held_out(s.layout, tuple(o.label for o in s.objects))
               for s in held)
    assert len({tuple(o.label for o in s.objects) for s in held}) == 8  # every held-out pair is tested


def test_test_scenes_are_fixed_and_use_test_pictures_only():
    """The evaluation scenes are the same on every call; their picture indices point into the test split given."""
    test_labels = torch.arange(10).repeat(3)
    first = evaluation_scenes(test_labels, 10, 200)
    assert first == evaluation_scenes(test_labels, 10, 200)
    assert all(o.image < len(test_labels) and int(test_labels[o.image]) == o.label for s in first for o in s.objects)


def test_training_scenes_draw_from_the_split_they_are_given(tiny_dataset):
    """Scenes index into the split the sampler was built on: a training sampler's pictures are training pictures."""
    rng = random.Random(2)
    sampler = SceneSampler(tiny_dataset.train_y, 10)
    for _ in range(200):
        scene = sampler.scene(rng)
        pixels = render(scene, tiny_dataset.train_x)
        for obj in scene.objects:
            if not obj.small and obj.box[2] - obj.box[0] == 32:
                x0, y0, x1, y1 = obj.box
                assert torch.equal(pixels[:, y0:y1, x0:x1], tiny_dataset.train_x[obj.image])


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_small_share_is_the_share_of_one_object_scenes_drawn_small(share):
    """Adapting an encoder draws more small objects than captioning does; the share changes sizes, nothing else."""
    rng, plain = random.Random(4), random.Random(4)
    scenes = [SceneSampler(LABELS, 10, small_share=share).scene(rng) for _ in range(600)]
    singles = [s for s in scenes if s.layout == "single"]
    small = sum(s.objects[0].small for s in singles) / len(singles)
    assert abs(small - share) < 0.08
    assert all(o.small == (o.box[2] - o.box[0] == SMALL) for s in scenes for o in s.objects)
    same_draws = [SceneSampler(LABELS, 10).scene(plain) for _ in range(600)]  # the default share: 0.3
    assert [(s.layout, [o.label for o in s.objects]) for s in scenes] == \
        [(s.layout, [o.label for o in s.objects]) for s in same_draws]


def test_a_sampler_refuses_a_split_missing_a_class():
    with pytest.raises(ValueError, match="class 9"):
        SceneSampler(torch.arange(9).repeat(2), 10)


def test_batches_render_like_single_scenes_and_keep_one_shape():
    rng = random.Random(3)
    sampler = SceneSampler(LABELS, 10)
    scenes = [sampler.scene(rng, "wide") for _ in range(12)]
    batch = render_batch(scenes, PICTURES)
    assert batch.shape == (12, 3, 64, 96) and batch.dtype == torch.uint8
    assert all(torch.equal(batch[i], render(s, PICTURES)) for i, s in enumerate(scenes))
    with pytest.raises(ValueError, match="one canvas"):
        render_batch([sampler.scene(rng, "wide"), sampler.scene(rng, "tall")], PICTURES)
