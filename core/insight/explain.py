"""Looking inside a trained model: feature maps, Grad-CAM / input-gradient heat maps, first-layer filters,
and the training images it finds hardest."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.data.batches import normalize
from core.data.images import SIDE, to_model_input


@dataclass(frozen=True)
class Explanation:
    predicted: str
    target: str
    probabilities: dict[str, float]
    heatmap: np.ndarray  # (32, 32) float in [0, 1]: where the evidence for `target` sits
    method: str  # "grad-cam" or "input-gradient"


def feature_layers(model: nn.Sequential) -> list[int]:
    """Indices of the convolution-like layers (their outputs are the feature maps worth showing)."""
    from core.models.modules import ResidualModule, WhiteningConv

    return [i for i, m in enumerate(model) if isinstance(m, (nn.Conv2d, ResidualModule, WhiteningConv))]


@torch.no_grad()
def feature_maps(model: nn.Sequential, image: torch.Tensor) -> dict[int, torch.Tensor]:
    """Output of every conv-like layer for one uint8 (3, 32, 32) image: {layer index: (C, H, W)}."""
    model.eval()
    wanted, maps = set(feature_layers(model)), {}
    x = normalize(image[None])
    for i, module in enumerate(model):
        x = module(x)
        if i in wanted:
            maps[i] = x[0].float()
    return maps


def map_tiles(maps: torch.Tensor) -> torch.Tensor:
    """(C, H, W) feature maps as uint8 grey RGB tiles (C, 3, H, W), each stretched to its own full range."""
    lo, hi = maps.amin((1, 2), keepdim=True), maps.amax((1, 2), keepdim=True)
    return ((maps - lo) / (hi - lo).clamp_min(1e-6) * 255).to(torch.uint8)[:, None].expand(-1, 3, -1, -1)


def _cam_layer(model: nn.Sequential) -> int | None:
    """The last layer whose output is still a spatial map larger than 1x1: Grad-CAM's usual choice."""
    x, best, convs = torch.zeros(1, 3, SIDE, SIDE), None, set(feature_layers(model))
    with torch.no_grad():
        for i, module in enumerate(model.eval()):
            x = module(x)
            if x.ndim == 4 and x.shape[-1] > 1 and i in convs:
                best = i
    return best


def explain(model: nn.Sequential, classes, image: torch.Tensor, target: str | None = None,
            method: str = "auto") -> Explanation:
    """Heat map of the evidence for `target` (default: the predicted class) in a uint8 (3, 32, 32) image.
    method: grad-cam (needs a conv layer), input-gradient, or auto (grad-cam where it can)."""
    # The model may be shared by every session of the server (a cached run): nothing here may change it. No hooks,
    # and torch.autograd.grad instead of backward(), so no .grad is ever left on its parameters.
    model.eval()  # the state a shared model is always in
    x = normalize(image[None]).requires_grad_(True)
    layer = _cam_layer(model) if method != "input-gradient" else None
    activations = x
    h = x
    for i, module in enumerate(model):
        h = module(h)
        if i == layer:
            activations = h
    probs = torch.softmax(h.float(), 1)[0]
    predicted = classes[int(probs.argmax())]
    target = target or predicted
    if target not in classes:
        raise ValueError(f"unknown class {target!r}; classes: {', '.join(classes)}")
    act_grad, x_grad = torch.autograd.grad(h[0, list(classes).index(target)], [activations, x], allow_unused=True)
    if layer is not None and act_grad is not None and act_grad.abs().sum() > 0:
        weights = act_grad[0].mean((1, 2))  # (C,): how much each map helps the target
        cam = torch.relu((weights[:, None, None] * activations[0]).sum(0)).detach()
        method = "grad-cam"
    else:  # no spatial maps (or a flat gradient): fall back to the pixels' own gradient
        cam = x_grad[0].abs().amax(0) if x_grad is not None else torch.zeros(SIDE, SIDE)
        method = "input-gradient"
    cam = torch.nn.functional.interpolate(cam[None, None].float(), size=(SIDE, SIDE), mode="bilinear",
                                          align_corners=False)[0, 0]
    cam = cam - cam.min()
    cam = cam / cam.max() if cam.max() > 0 else cam
    return Explanation(predicted, target, dict(zip(classes, probs.tolist())), cam.numpy(), method)


def overlay(image: Image.Image, heatmap: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """The heat map (red = strong evidence) blended over the picture at the picture's size."""
    heat = Image.fromarray((heatmap * 255).astype(np.uint8), "L").resize(image.size, Image.Resampling.BILINEAR)
    h = np.asarray(heat, dtype=np.float32) / 255
    colour = np.stack([h, h * 0.3, 1 - h], -1) * 255  # blue (nothing) -> red (strong)
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    return Image.fromarray((base * (1 - alpha) + colour * alpha).clip(0, 255).astype(np.uint8))


def first_layer_filters(model: nn.Sequential) -> torch.Tensor | None:
    """The first conv layer's filters as uint8 RGB tiles (N, 3, k, k), each stretched to the full range."""
    conv = next((m for m in model if isinstance(m, nn.Conv2d) and m.in_channels == 3), None)
    if conv is None:
        return None
    w = conv.weight.detach().float()
    lo, hi = w.amin((1, 2, 3), keepdim=True), w.amax((1, 2, 3), keepdim=True)
    return ((w - lo) / (hi - lo).clamp_min(1e-8) * 255).round().to(torch.uint8)


@torch.no_grad()
def hardest_examples(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, k: int = 20,
                     batch: int = 1000) -> tuple[list[int], list[float], list[int]]:
    """Indices of the k images with the highest loss, their losses and the model's guesses."""
    model.eval()
    losses, guesses = [], []
    for start in range(0, len(images), batch):
        logits = model(normalize(images[start:start + batch])).float()
        losses.append(nn.functional.cross_entropy(logits, labels[start:start + batch], reduction="none"))
        guesses.append(logits.argmax(1))
    loss, guess = torch.cat(losses), torch.cat(guesses)
    top = loss.topk(min(k, len(loss))).indices
    return top.tolist(), loss[top].tolist(), guess[top].tolist()


def explain_picture(model, classes, picture: Image.Image, target: str | None = None) -> Explanation:
    return explain(model, classes, to_model_input(picture), target)
