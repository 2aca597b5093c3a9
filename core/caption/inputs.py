"""Scenes as the encoder's inputs: training batches drawn from a mix of fixed-kind and varied scenes, every scene
rendered on its canvas and then fitted by the captioner's one scaling rule (fitting.py), as an upload is, and where
each object's box lands on that input (the adapt phase reads the grid cells under it)."""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from core.caption.fitting import PictureFit
from core.caption.scenes import (
    CANVASES,
    SMALL_SHARE,
    Captioned,
    Scene,
    SceneObject,
    SceneSampler,
    render_batch,
)
from core.caption.varied import TRAIN_RANGE, VariedSampler, render_varied


def render_scene(scene: Captioned, pictures: torch.Tensor) -> torch.Tensor:
    """Any scene on its own canvas, uint8 (3, H, W): what a person would photograph."""
    return render_batch([scene], pictures)[0] if isinstance(scene, Scene) else render_varied(scene, pictures)


def as_input(scenes: list[Captioned], pictures: torch.Tensor, fit: PictureFit) -> torch.Tensor:
    """Scenes of one canvas size as uint8 (B, 3, H, W), each rendered on its canvas and then fitted."""
    if len({s.size for s in scenes}) != 1:
        raise ValueError("a batch holds scenes of one canvas size")
    if all(isinstance(s, Scene) for s in scenes):
        canvases = render_batch(scenes, pictures)
    else:
        canvases = torch.stack([render_scene(s, pictures) for s in scenes])
    return fit.pixels(canvases)


def by_input_size(scenes: list[Captioned], fit: PictureFit) -> dict[tuple[int, int], list[int]]:
    """Scene indices grouped by the input size the rule gives them: canvases of different sizes often share one."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, scene in enumerate(scenes):
        groups.setdefault(fit.input_size(*scene.size), []).append(i)
    return groups


def inputs_of(scenes: list[Captioned], pictures: torch.Tensor, fit: PictureFit) -> torch.Tensor:
    """Scenes whose canvases may differ but fit to one input size, as uint8 (B, 3, H, W) in their order."""
    return torch.cat([as_input([scene], pictures, fit) for scene in scenes]) if len({s.size for s in scenes}) > 1 \
        else as_input(scenes, pictures, fit)


@dataclass(frozen=True)
class OnInput:
    """A scene's objects with their boxes where they land on the fitted input, and that input's size."""
    size: tuple[int, int]
    objects: tuple[SceneObject, ...]


def on_input(scene: Captioned, fit: PictureFit) -> OnInput:
    width, height = scene.size
    objects = tuple(SceneObject(o.label, o.image, o.place, fit.box(o.box, width, height), o.small)
                    for o in scene.objects)
    return OnInput(fit.input_size(width, height), objects)


class SceneMix:
    """Draws training batches: with chance `varied_share` a batch of varied scenes on one random canvas (any object
    size, place and aspect), else a batch of the fixed scenes' kind on one of their three canvases. From one split's
    pictures (`labels`), held-out pairs excluded, as both samplers do."""

    def __init__(self, labels: torch.Tensor, n_classes: int, varied_share: float, small_share: float = SMALL_SHARE):
        self.varied_share = varied_share
        self.fixed = SceneSampler(labels, n_classes, small_share=small_share)
        self.varied = VariedSampler(labels, n_classes, TRAIN_RANGE) if varied_share > 0 else None

    def batch(self, rng: random.Random, size: int) -> list[Captioned]:
        # the draw for the kind is skipped at 0 and 1, so a run of fixed scenes only repeats the runs before the mix
        varied = self.varied_share >= 1 or (self.varied_share > 0 and rng.random() < self.varied_share)
        if varied:
            canvas = self.varied.canvas(rng)
            return [self.varied.scene(rng, canvas) for _ in range(size)]
        canvas = rng.choice(tuple(CANVASES))
        return [self.fixed.scene(rng, canvas) for _ in range(size)]
