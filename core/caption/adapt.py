"""Teaching a classifier's conv layers the captioning scenes before a captioner reads them (encoder mode "adapt").

A classifier trained on lone 32x32 pictures sees a picture inside a scene poorly: the picture sits at any offset
against its grid, at 20 or 28 pixels as well as 32, with other pictures or noise around it instead of the zero
padding it trained with (bench.caption_probe measured 87% on single pictures against 68% from the grid over a scene).
Adapting fixes that with the labels the scenes already have: every object of a batch of training scenes is
classified from the grid cells over it, pooled the way the classifier pools its last maps and passed through the
classifier's own head, while a batch of single pictures keeps what it knew."""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core import recipe
from core.caption.fitting import OLD_FIT, PictureFit
from core.caption.inputs import OnInput, SceneMix, as_input, on_input
from core.caption.model import best_scale, pyramid
from core.caption.scenes import Scene
from core.data.batches import normalize
from core.models.layers import AvgPool2d, GlobalAvgPool
from core.models.spec import ModelSpec
from core.training.loop import Loop, StepOutput
from core.training.optim import LR_SCALE
from core.training.status import RunStatus

ADAPT_LR = recipe.CAPTION_ADAPT_LR  # Adam, falling linearly to zero; 10x more forgot the single pictures, 10x less barely moved the grid
# Adapting draws every scene of one object small (20 pixels; captioning draws 30% of them small): the classifier never
# saw a picture that size, and its grid named 66% of small objects after adapting at the captioner's 30% against 79%
# at 100%, with the other objects' figures unchanged (bench.caption_probe, docs/captioning.md).
ADAPT_SMALL_SHARE = 1.0


@dataclass(frozen=True)
class ClassifierHead:
    """What a classifier does after the conv layers the encoder keeps (`tail`: its last pooling, flattening and
    linear layers), and the map those layers expect: the one a lone 32x32 picture makes."""
    tail: nn.Module
    size: tuple[int, int]
    mean: bool  # the tail averages its map (else it takes maxima, or reads it whole)

    def classify(self, cells: torch.Tensor) -> torch.Tensor:
        """Logits for a block of grid cells (B, C, h, w) of any size, first pooled to the map the tail expects
        (for `fast`, whose tail max-pools its 3x3 map to one cell, that is the maximum over the block)."""
        pool = F.adaptive_avg_pool2d if self.mean else F.adaptive_max_pool2d
        return self.tail(pool(cells, self.size))


def classifier_head(model: nn.Sequential, spec: ModelSpec, convs: int) -> ClassifierHead:
    """The head of a classifier whose first `convs` layers are the encoder."""
    with torch.no_grad():
        size = tuple(model[:convs](torch.zeros(1, 3, 32, 32)).shape[-2:])
    mean = any(isinstance(layer, (AvgPool2d, GlobalAvgPool)) for layer in spec.layers[convs:])
    return ClassifierHead(model[convs:], size, mean)


def object_cells(maps: torch.Tensor, scene: Scene | OnInput) -> list[torch.Tensor]:
    """For each object of the scene, the block of grid cells (C, h, w) whose centres lie inside its box (at least the
    cell under its centre: a small object on a large canvas can be narrower than a cell)."""
    (width, height), (h, w) = scene.size, maps.shape[-2:]
    blocks = []
    for obj in scene.objects:
        x0, y0, x1, y1 = obj.box
        cols = [j for j in range(w) if x0 <= (j + 0.5) * width / w < x1] or [_cell(x0, x1, width, w)]
        rows = [i for i in range(h) if y0 <= (i + 0.5) * height / h < y1] or [_cell(y0, y1, height, h)]
        blocks.append(maps[:, rows][:, :, cols])
    return blocks


def _alone(scene: Scene | OnInput, obj) -> OnInput:
    return OnInput(scene.size, (obj,))


def _cell(low: int, high: int, length: int, cells: int) -> int:
    """The cell under the middle of [low, high) along an axis `length` pixels long cut into `cells` cells."""
    return min(cells - 1, int((low + high) / 2 * cells / length))


def object_logits(maps: torch.Tensor | list[torch.Tensor], scenes: list[Scene | OnInput],
                  head: ClassifierHead) -> tuple[torch.Tensor, torch.Tensor]:
    """The head's logits for every object of a batch of scenes, read from their grids (B, C, h, w), in reading order,
    and the objects' labels. Given the grids of several scales (model.pyramid), each object is read at the scale
    where it is nearest a CIFAR picture's size, as the captioner's attention can choose."""
    levels = maps if isinstance(maps, list) else [maps]
    logits = []
    for i, scene in enumerate(scenes):
        for obj in scene.objects:
            level = best_scale(obj.box[2] - obj.box[0], len(levels))
            [cells] = object_cells(levels[level][i], _alone(scene, obj))
            logits.append(head.classify(cells[None]))
    labels = torch.tensor([obj.label for scene in scenes for obj in scene.objects], device=levels[0].device)
    return torch.cat(logits), labels


@dataclass(frozen=True)
class AdaptStep:
    step: int
    steps: int
    loss: float  # objects' and single pictures' cross-entropy, together
    lr: float  # the learning rate this step took
    objects_right: float  # share of this batch's objects the grid named right, before the step


def adapt_encoder(convs: nn.Module, head: ClassifierHead, pictures: torch.Tensor, labels: torch.Tensor,
                  n_classes: int, scenes: int, batch_size: int, seed: int, device: torch.device,
                  on_step: Callable[[AdaptStep], bool] | None = None,
                  watchers: Sequence[object] = (), fit: PictureFit = OLD_FIT,
                  varied_share: float = 0.0, scales: int = 1) -> list[AdaptStep]:
    """Train `convs` (and the head) on `scenes` training scenes in batches, drawn as the captioner will read them
    (`varied_share` of the batches varied scenes, all fitted by `fit`, each object read at the best of `scales`
    scales); BatchNorm keeps the classifier's statistics
    (eval mode), so the features change only as much as the gradient asks. `on_step` returning False stops early (the
    page's Stop); `watchers` are further callbacks on the loop (core.training.callbacks)."""
    sampler, rng = SceneMix(labels, n_classes, varied_share, small_share=ADAPT_SMALL_SHARE), random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    params = [*convs.parameters(), *head.tail.parameters()]
    optimizer = torch.optim.Adam([{"params": params, LR_SCALE: 1.0}], lr=ADAPT_LR)
    steps = max(1, scenes // batch_size)
    convs.eval(), head.tail.eval()

    def step(_) -> StepOutput:
        drawn = sampler.batch(rng, batch_size)
        maps = [convs(x) for x in pyramid(normalize(as_input(drawn, pictures, fit).to(device)), scales)]
        logits, objects = object_logits(maps, [on_input(scene, fit) for scene in drawn], head)
        single = torch.randint(0, len(pictures), (batch_size,), generator=generator)
        single_logits = head.classify(convs(normalize(pictures[single].to(device))))
        loss = F.cross_entropy(logits, objects) + F.cross_entropy(single_logits, labels[single].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return StepOutput(loss.detach(), batch_size, logits, objects)

    history = _History(steps, on_step)
    # Adam falling linearly to zero: the first step at ADAPT_LR
    loop = Loop(optimizer, steps, ADAPT_LR, lambda done: 1 - done / steps, [history, *watchers], first_epoch=0)
    loop.run([range(steps)], step)
    for p in params:
        p.grad = None
    return history.steps


class _History:
    """The loop callback that keeps each step's AdaptStep and asks `on_step` whether to go on."""

    def __init__(self, steps: int, on_step: Callable[[AdaptStep], bool] | None):
        self.total, self.on_step, self.steps = steps, on_step, []

    def after_step(self, loop: Loop, out: StepOutput) -> None:
        loop.read_losses()  # .item() below waits for the device anyway: divergence is then seen at this very step
        right = (out.logits.argmax(1) == out.labels).float().mean().item()
        report = AdaptStep(loop.step, self.total, out.loss.item(), loop.lr, right)
        self.steps.append(report)
        if self.on_step is not None and self.on_step(report) is False:
            loop.end(RunStatus.STOPPED)
