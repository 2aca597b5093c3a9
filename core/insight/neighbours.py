"""The training images most like a picture, in the network's own eyes: cosine similarity of penultimate-layer
features (the vector the last linear layer reads). Example-based explanation, beside Grad-CAM's heat map."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from core.data.batches import normalize
from core.data.sources import Dataset
from core.recipe import EVAL_BATCH
from core.runs.folder import Run, read_tensors, save_tensors

MAX_K = 64  # neighbours one query may ask for


def feature_layer(model: nn.Sequential) -> int:
    """Index of the last Linear layer: the features are what it reads."""
    last = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    if not last:
        raise ValueError("the model has no Linear layer to read features before")
    return last[-1]


@torch.no_grad()
def embed(model: nn.Sequential, images: torch.Tensor, progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """uint8 (N, 3, 32, 32) -> unit-length features (N, D), float32, in eval mode."""
    model.eval()  # a shared model's state already; evaluation must not move BatchNorm's statistics
    stop, dtype, out = feature_layer(model), next(model.parameters()).dtype, []
    for start in range(0, len(images), EVAL_BATCH):
        h = normalize(images[start:start + EVAL_BATCH]).to(dtype)
        for module in list(model)[:stop]:
            h = module(h)
        out.append(nn.functional.normalize(h.flatten(1).float(), dim=1))
        if progress:
            progress(min(start + EVAL_BATCH, len(images)), len(images))
    return torch.cat(out) if out else torch.empty(0, 0)


def saved_features(run: Run, dataset: Dataset) -> torch.Tensor | None:
    """The training set's features kept in the run folder, if they belong to its current weights and this data."""
    saved = read_tensors(run.files.neighbours)  # float16, one row per training image (50,000 x D: a few MB)
    if saved is None:
        return None
    tensors, meta = saved
    features = tensors.get("features")
    fits = meta == _meta(run, dataset) and features is not None and features.ndim == 2 \
        and len(features) == len(dataset.train_x) and features.dtype == torch.float16
    return features if fits else None


def training_features(run: Run, model: nn.Sequential, dataset: Dataset,
                      progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """The training set's features for the run's current weights: read from the run folder when they match the
    weights and the data, else computed once (one pass over the training set) and saved."""
    features = saved_features(run, dataset)
    if features is None:
        features = embed(model, dataset.train_x, progress).half()
        save_tensors(run.files.neighbours, {"features": features}, _meta(run, dataset))
    return features


def _meta(run: Run, dataset: Dataset) -> dict[str, str]:
    return {"weights": run.files.weights_stamp(), "source": dataset.source}


@dataclass(frozen=True)
class Neighbour:
    index: int  # in the training split
    label: str
    similarity: float  # cosine, -1..1


def nearest(features: torch.Tensor, query: torch.Tensor, k: int) -> tuple[list[int], list[float]]:
    """Indices and cosine similarities of the k rows of `features` closest to the unit vector `query`."""
    scores = features.float() @ query.float()
    top = scores.topk(min(k, len(scores)))
    return top.indices.tolist(), top.values.tolist()


def neighbours(model: nn.Sequential, features: torch.Tensor, dataset: Dataset, image: torch.Tensor,
               k: int = 8) -> list[Neighbour]:
    """The k training images closest to one uint8 (3, 32, 32) image."""
    indices, scores = nearest(features, embed(model, image[None])[0], k)
    return [Neighbour(i, dataset.classes[int(dataset.train_y[i])], s) for i, s in zip(indices, scores)]
