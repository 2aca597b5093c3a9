"""Scores of captions on varied scenes, overall and grouped by object size and by object count, with evaluate.py's
scoring (exact meaning, objects named in place, BLEU-4), so a small object's misses show apart from a large one's."""
from __future__ import annotations

from dataclasses import dataclass

from core.caption.evaluate import CaptionScores, meaning_of, score_meanings
from core.caption.scenes import Meaning
from core.caption.varied import VariedScene

# Size groups by an object's side in canvas pixels (objects are square). 32 px is a CIFAR picture at its own size:
# below it a picture has lost pixels; from 64 px it is scaled up at least twice, as most uploaded photos are.
MEDIUM_FROM = 32  # pixels: small below this
LARGE_FROM = 64  # pixels: medium below this, large from it
SIZE_GROUPS = ("small", "medium", "large")


def size_group(side: int) -> str:
    return "small" if side < MEDIUM_FROM else "medium" if side < LARGE_FROM else "large"


@dataclass(frozen=True)
class VariedScores:
    overall: CaptionScores
    no_small: CaptionScores  # the scenes whose objects are all 32 px or larger: issue 33's targets are set on these
    by_size: dict[str, CaptionScores]  # scenes grouped by their SMALLEST object's size group (a scene is as hard as it)
    by_count: dict[int, CaptionScores]  # scenes grouped by how many objects they hold
    objects_by_size: dict[str, tuple[int, int]]  # each object once, in its own size group: (objects, named in place)


def _subset(said, sentences, scenes, keep, classes) -> CaptionScores:
    chosen = [i for i, scene in enumerate(scenes) if keep(scene)]
    return score_meanings([said[i] for i in chosen], [sentences[i] for i in chosen], [scenes[i] for i in chosen],
                          classes)


def smallest_group(scene: VariedScene) -> str:
    return size_group(min(o.box[2] - o.box[0] for o in scene.objects))


def objects_named_by_size(said: list[Meaning | None], scenes: list[VariedScene], classes) -> dict[str, tuple[int, int]]:
    """{size group: (objects, how many the captions named with their class at their place)}, each object counted once.
    Two same-class objects at one place cannot both be claimed by one pair, so each claim is used up once."""
    tally = {group: [0, 0] for group in SIZE_GROUPS}
    for meaning, scene in zip(said, scenes):
        claims = list(meaning or ())
        for obj in scene.objects:
            counts = tally[size_group(obj.box[2] - obj.box[0])]
            pair = (classes[obj.label], obj.place)
            counts[0] += 1
            if pair in claims:
                claims.remove(pair)
                counts[1] += 1
    return {group: (objects, named) for group, (objects, named) in tally.items()}


def score_varied_meanings(said: list[Meaning | None], sentences: list[str], scenes: list[VariedScene],
                          classes) -> VariedScores:
    """Grouped scores from meanings already read (a captioner's parsed sentences, or the template's regions)."""
    counts = sorted({len(scene.objects) for scene in scenes})
    return VariedScores(
        overall=score_meanings(said, sentences, scenes, classes),
        no_small=_subset(said, sentences, scenes, lambda s: smallest_group(s) != "small", classes),
        by_size={g: _subset(said, sentences, scenes, lambda s, g=g: smallest_group(s) == g, classes)
                 for g in SIZE_GROUPS},
        by_count={n: _subset(said, sentences, scenes, lambda s, n=n: len(s.objects) == n, classes) for n in counts},
        objects_by_size=objects_named_by_size(said, scenes, classes),
    )


def score_varied(sentences: list[str], scenes: list[VariedScene], classes) -> VariedScores:
    """A captioner's sentences on varied scenes, scored overall and by group; babble means nothing, as everywhere."""
    return score_varied_meanings([meaning_of(s, classes) for s in sentences], sentences, scenes, classes)
