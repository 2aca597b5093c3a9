"""Scoring captions of scenes: exact meaning, objects named in the right place, BLEU-4 against the references; and the
same scores for the template describer, so the two can be compared on the same scenes."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn
from torchmetrics.functional.text import bleu_score

from core.caption.arrangement import arrangement
from core.caption.inputs import by_input_size, inputs_of, render_scene
from core.caption.model import Captioner, greedy
from core.caption.scenes import Captioned, Meaning, Scene, place_of, sentence_meanings
from core.data.batches import normalize
from core.data.images import to_pil
from core.insight.describe import Region, describe


@dataclass(frozen=True)
class CaptionScores:
    exact: float  # share of scenes whose caption means exactly the scene
    precision: float  # objects named that are there, at the named place
    recall: float  # objects there that are named, at their place
    bleu: float  # BLEU-4 (torchmetrics) against all reference captions of each scene
    scenes: int


def caption_scenes(model: Captioner, scenes: list[Captioned], pictures: torch.Tensor, device="cpu",
                   batch_size: int = 200) -> list[str]:
    """Greedy captions, in the scenes' order, of any kind of scene rendered on its canvas and fitted by the model's
    rule, as an upload is; batched by the input size that gives."""
    model.eval()
    out: list[str | None] = [None] * len(scenes)
    for indices in by_input_size(scenes, model.fit).values():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            pixels = normalize(inputs_of([scenes[i] for i in chunk], pictures, model.fit).to(device))
            for i, words in zip(chunk, greedy(model, pixels)):
                out[i] = " ".join(words)
    return out


def meaning_of(sentence: str, classes) -> Meaning | None:
    """What a caption says, if it is a sentence of the grammar; babble means nothing."""
    return sentence_meanings(tuple(classes)).get(sentence.strip())


def score_meanings(said: list[Meaning | None], sentences: list[str], scenes: list[Scene], classes) -> CaptionScores:
    exact = named = right = present = 0
    for meaning, scene in zip(said, scenes):
        truth = Counter(scene.meaning(classes))
        claimed = Counter(meaning or ())
        exact += claimed == truth
        right += sum((claimed & truth).values())
        named += sum(claimed.values())
        present += sum(truth.values())
    bleu = float(bleu_score(sentences, [scene.captions(classes) for scene in scenes], n_gram=4)) if scenes else 0.0
    n = max(1, len(scenes))
    return CaptionScores(exact / n, right / max(1, named), right / max(1, present), bleu, len(scenes))


def named_by_size(said: list[Meaning | None], scenes: list[Scene], classes) -> dict[int, tuple[int, int]]:
    """How many objects of each side (in canvas pixels: 32, 28, or 20 for "small") the captions named with their class
    at their place: {side: (objects, named)}. Shrunk pictures have fewer pixels to be recognised by, so this is where
    a captioner's object accuracy can be compared with a classifier's on the same pictures."""
    tally: dict[int, list[int]] = {}
    for meaning, scene in zip(said, scenes):
        claimed = set(meaning or ())
        for obj in scene.objects:
            counts = tally.setdefault(obj.box[2] - obj.box[0], [0, 0])
            counts[0] += 1
            counts[1] += (classes[obj.label], obj.place) in claimed
    return {side: (objects, named) for side, (objects, named) in sorted(tally.items(), reverse=True)}


def classes_named(said: list[Meaning | None], scenes: list[Scene], classes) -> tuple[int, int]:
    """(objects, how many of them the captions named with their class, at whatever place): against the objects named
    at their place, this splits a captioner's misses into wrong classes and wrong places."""
    objects = named = 0
    for meaning, scene in zip(said, scenes):
        claimed = Counter(cls for cls, _ in meaning or ())
        truth = Counter(cls for cls, _ in scene.meaning(classes))
        objects += sum(truth.values())
        named += sum((claimed & truth).values())
    return objects, named


def score_captions(sentences: list[str], scenes: list[Scene], classes) -> CaptionScores:
    return score_meanings([meaning_of(s, classes) for s in sentences], sentences, scenes, classes)


# ----------------------------------------------------------------------------------------------------------------
# the template describer on the same scenes


# Window sides as shares of the short side, for a fair baseline on scenes whose objects reach a tenth of it (the Inspect
# page's describer keeps 1.0, 0.6, 0.4). Chosen on training scenes: `python -m bench.template_scales`.
TEMPLATE_SCALES = (1.0, 0.75, 0.55, 0.4, 0.3, 0.22, 0.16)


def template_on_scenes(classifier: nn.Module, classes, scenes: list[Captioned], pictures: torch.Tensor,
                       scales=TEMPLATE_SCALES):
    """describe() on each scene as rendered on its canvas, with windows at `scales`: its meaning (the regions'
    classes, placed by the same geometry that writes the scenes' captions, arrangement.py) and its sentence (without
    the "I see" that opens each, so BLEU judges what it says, not how it starts)."""
    meanings, sentences = [], []
    for scene in scenes:
        d = describe(classifier, classes, to_pil(render_scene(scene, pictures)), scales=scales)
        meanings.append(template_meaning(d.regions, *scene.size))
        text = d.sentence.lower().rstrip(".").replace(",", "")
        sentences.append(text[len("i see "):] if text.startswith("i see ") else text)
    return meanings, sentences


def template_meaning(regions: list[Region], width: int, height: int) -> Meaning:
    """The template's regions as a meaning: places from the layout the boxes form, as a scene's caption is written
    (a row of two is left and right, wherever on the canvas); boxes that form no layout, each by its own place."""
    reading = arrangement([r.box for r in regions], width, height) if regions else None
    if reading is not None:
        return tuple(sorted((regions[i].cls, place) for i, place in zip(reading.order, reading.places)))
    return tuple(sorted((r.cls, place_of(r.box, width, height)) for r in regions))


def score_template(classifier: nn.Module, classes, scenes: list[Scene], pictures: torch.Tensor) -> CaptionScores:
    meanings, sentences = template_on_scenes(classifier, classes, scenes, pictures)
    return score_meanings(meanings, sentences, scenes, classes)
