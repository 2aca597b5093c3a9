"""The network's map of the data: test images laid out in 2-D by t-SNE (scikit-learn) of their penultimate-layer
features, so pictures the network sees as alike sit together. Kept in the run folder, keyed on the weights and data."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from core.bounds import ranged, settings_problem
from core.data.sources import Dataset
from core.errors import UserError
from core.insight.neighbours import embed
from core.recipe import EVAL_BATCH
from core.runs.folder import Run, read_tensors, save_tensors
from core.training.evaluate import predict_logits

# --- the recipe: every number of the layout in one place ---
PCA_DIMS = 50  # features are reduced to this many principal components before t-SNE, as is standard
PERPLEXITY = 30.0  # t-SNE's effective number of neighbours per point (lowered for maps of under 91 images)
TSNE_ITERATIONS = 500  # gradient steps, the first 250 with early exaggeration; 1,000 halves the speed for little
MIN_SPREAD = 1e-6  # features (unit length) that vary less than this across images are all the same picture to it
PLACE_K = 10  # mapped images an upload's position is interpolated from
METHOD = f"tsne-pca{PCA_DIMS}-p{PERPLEXITY:g}-it{TSNE_ITERATIONS}-v1"  # in the cache key: a new recipe redraws


class MapError(UserError):
    """A map that cannot be drawn as asked."""


@dataclass(frozen=True)
class MapSettings:
    images: int = ranged(2000, low=10, high=10_000, label="Images on the map", unit="test images",
                         group="evaluation", help="How many test images are mapped, every class an equal share.")
    seed: int = ranged(0, low=0, high=2**31 - 1, label="Seed", group="evaluation",
                       help="Chooses the images and t-SNE's random start, so a seed always draws the same map.")

    def check(self) -> MapSettings:
        problem = settings_problem(self)
        if problem:
            raise MapError(problem)
        return self


@dataclass(frozen=True)
class FeatureMap:
    indices: torch.Tensor  # (N,) int64: rows of the test split, ascending
    xy: torch.Tensor  # (N, 2) float32: t-SNE positions (their scale means nothing, only who is near whom)
    labels: torch.Tensor  # (N,) int64: the true classes
    predictions: torch.Tensor  # (N,) int64: the network's answers
    features: torch.Tensor  # (N, D) float16, unit length: what t-SNE laid out, and what uploads are compared with
    seed: int
    embed_seconds: float  # the images through the network (features and answers)
    layout_seconds: float  # PCA and t-SNE

    def __len__(self) -> int:
        return len(self.indices)


Progress = Callable[[int, int], None]  # (images through the network, images in all)


# --- which images, their features, their layout ---
def choose_images(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """min(n, len(labels)) indices, ascending, drawn at random (seeded) with the classes in equal shares: every class
    gives n // classes or one more, unless it has fewer images (then all of them, the others filling in)."""
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    shuffled = labels[perm]
    rank = torch.empty_like(perm)  # how many images of the same class come before each one in the shuffle
    for c in shuffled.unique():
        where = (shuffled == c).nonzero().flatten()
        rank[where] = torch.arange(len(where))
    order = torch.sort(rank, stable=True).indices  # round-robin over the classes, in shuffled order
    return perm[order[:n]].sort().values


def layout(features: torch.Tensor, seed: int) -> torch.Tensor:
    """(N, D) features -> (N, 2) float32 t-SNE positions: PCA to PCA_DIMS first, PCA initialisation, seeded."""
    # imported here: scikit-learn takes a second to import, and only the map needs it
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = features.float().numpy()
    _check_spread(x)
    if x.shape[1] > PCA_DIMS and len(x) > PCA_DIMS:
        x = PCA(PCA_DIMS, random_state=seed).fit_transform(x)
    tsne = TSNE(2, perplexity=min(PERPLEXITY, (len(x) - 1) / 3), init="pca", learning_rate="auto",
                max_iter=TSNE_ITERATIONS, random_state=seed, n_jobs=1)
    # One thread: scikit-learn's own OpenMP pool beside torch's in the dashboard's process oversubscribed a busy
    # machine until the server stopped answering (the browser walk: "server not responding" while t-SNE laid out
    # 50 images); one thread costs about a second on 2,000 images.
    with threadpool_limits(1):
        return torch.from_numpy(tsne.fit_transform(x).astype(np.float32))


def _check_spread(x: np.ndarray) -> None:
    """Refuse features t-SNE cannot lay out: scikit-learn's Barnes-Hut t-SNE divides by their spread and, given
    identical or non-finite rows, crashed the whole process (a segmentation fault that took the dashboard down)."""
    if not np.isfinite(x).all():
        raise MapError("the network's features are not finite numbers (its training diverged), so there is nothing "
                       "to map; train it again with a lower learning rate")
    if float(x.std(axis=0).max(initial=0.0)) < MIN_SPREAD:
        raise MapError(f"the network gives all {len(x):,} images the same features, so there is nothing to map: it "
                       "has not learned to tell pictures apart (train it longer, or with a lower learning rate)")


def compute_map(model, images: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor, seed: int,
                progress: Progress | None = None) -> FeatureMap:
    """The map of images[indices]: features and answers in batches (progress after each), then the layout."""
    if len(indices) < 4:
        raise MapError(f"a map needs at least 4 images, this one would have {len(indices)}")
    start, features, predictions = time.perf_counter(), [], []
    for i in range(0, len(indices), EVAL_BATCH):
        batch = images[indices[i:i + EVAL_BATCH]]  # uint8 (B, 3, 32, 32)
        features.append(embed(model, batch).half())  # (B, D)
        predictions.append(predict_logits(model, batch).argmax(1))
        if progress:
            progress(min(i + EVAL_BATCH, len(indices)), len(indices))
    embedded = time.perf_counter()
    f = torch.cat(features)
    xy = layout(f, seed)
    return FeatureMap(indices.long(), xy, labels[indices].long(), torch.cat(predictions).long(), f, seed,
                      embedded - start, time.perf_counter() - embedded)


# --- kept in the run folder ---
def saved_map(run: Run, dataset: Dataset, settings: MapSettings = MapSettings()) -> FeatureMap | None:
    """The map kept in the run folder, if it was drawn with the run's current weights, this data and these settings."""
    saved = read_tensors(run.files.feature_map)
    if saved is None:
        return None
    tensors, meta = saved
    if any(meta.get(k) != v for k, v in _key(run, dataset, settings).items()) or \
            set(tensors) != {"indices", "xy", "labels", "predictions", "features"}:
        return None
    n = len(tensors["indices"])
    if n == 0 or tensors["xy"].shape != (n, 2) or tensors["features"].ndim != 2 \
            or any(len(t) != n for t in tensors.values()) or int(tensors["indices"].max()) >= len(dataset.test_x):
        return None
    try:
        seconds = float(meta["embed_seconds"]), float(meta["layout_seconds"])
    except (KeyError, ValueError):
        return None
    return FeatureMap(tensors["indices"], tensors["xy"], tensors["labels"], tensors["predictions"],
                      tensors["features"], settings.seed, *seconds)


def feature_map(run: Run, model, dataset: Dataset, settings: MapSettings = MapSettings(),
                progress: Progress | None = None) -> FeatureMap:
    """The map of the test images for the run's current weights: read from the run folder when it fits, else drawn
    (one pass of the chosen images through the network, then t-SNE) and saved."""
    settings.check()
    found = saved_map(run, dataset, settings)
    if found is not None:
        return found
    indices = choose_images(dataset.test_y, settings.images, settings.seed)
    fmap = compute_map(model, dataset.test_x, dataset.test_y, indices, settings.seed, progress)
    tensors = {"indices": fmap.indices, "xy": fmap.xy, "labels": fmap.labels, "predictions": fmap.predictions,
               "features": fmap.features}
    save_tensors(run.files.feature_map, tensors, {**_key(run, dataset, settings),
                                                  "embed_seconds": repr(fmap.embed_seconds),
                                                  "layout_seconds": repr(fmap.layout_seconds)})
    return fmap


def _key(run: Run, dataset: Dataset, settings: MapSettings) -> dict[str, str]:
    return {"weights": run.files.weights_stamp(), "source": dataset.source, "images": str(settings.images),
            "seed": str(settings.seed), "method": METHOD}


# --- reading the map ---
def place(fmap: FeatureMap, feature: torch.Tensor, k: int = PLACE_K) -> tuple[float, float]:
    """Where a new image goes on the map (t-SNE cannot embed new points): the mean position of its k nearest mapped
    images by cosine similarity of features, weighted by 1 / (cosine distance)^2, so an image whose features equal
    a mapped image's lands on it. `feature` is a unit-length (D,) vector from neighbours.embed."""
    similarity = fmap.features.float() @ feature.float()  # (N,)
    top = similarity.topk(min(k, len(similarity)))
    weights = 1 / ((1 - top.values).clamp_min(0) + 1e-4) ** 2  # (k,)
    x, y = (weights[:, None] * fmap.xy[top.indices]).sum(0) / weights.sum()
    return float(x), float(y)


def map_neighbours(fmap: FeatureMap, row: int, k: int = 8) -> list[int]:
    """Rows of the k mapped images nearest to row `row` on the map itself (2-D distance), nearest first."""
    distance = (fmap.xy - fmap.xy[row]).norm(dim=1)
    distance[row] = float("inf")
    return distance.topk(min(k, len(fmap) - 1), largest=False).indices.tolist()
