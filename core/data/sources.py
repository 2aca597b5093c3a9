"""CIFAR-10 sources (the official download, folders, archives) decoded once into uint8 tensors, with a disk cache
(one safetensors file per source version; never pickled). The readers live in official.py, archives.py and
decoding.py; the server's shared store and path allowlist in store.py."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.data.archives import ARCHIVE_SUFFIXES, read_archive, read_folder
from core.data.dataset import (  # the data API: importers need only core.data.sources
    DataError,
    Dataset,
    Progress,
)
from core.data.official import download_official, read_batches
from core.storage import write_atomic, write_bytes_atomic

DEFAULT_SOURCE = "cifar10"
DATA_ROOT = Path(os.environ.get("CIFAR10_ROOT", "data"))
CACHE_FORMAT = 1


def default_source() -> str:
    return os.environ.get("CIFAR10_DATA") or DEFAULT_SOURCE


def load(source: str | None = None, root: Path | None = None, progress: Progress | None = None) -> Dataset:
    """Load a source string: 'cifar10', a folder, or an archive. Decodes once, then reads from the cache."""
    source = source or default_source()
    root = Path(root or DATA_ROOT)
    if source == DEFAULT_SOURCE:
        folder = download_official(root)
        return _cached(folder, root, source, progress, lambda: read_batches(folder / "cifar-10-batches-py"))
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"data source {source!r} does not exist; use 'cifar10', a folder or an archive")
    if path.is_dir():
        return _cached(path, root, source, progress, lambda: read_folder(path, progress))
    if path.name.lower().endswith(ARCHIVE_SUFFIXES):
        return _cached(path, root, source, progress, lambda: read_archive(path, progress))
    raise DataError(f"data source {source!r} is a file but not an archive ({', '.join(ARCHIVE_SUFFIXES)})")


def load_archive_bytes(data: bytes, name: str, root: Path | None = None, progress: Progress | None = None) -> Dataset:
    """An uploaded archive, stored under root/uploads by its content hash and loaded like any archive. Its source
    is that stored path, so two different uploads with the same file name never share a dataset or its metrics."""
    if not name.lower().endswith(ARCHIVE_SUFFIXES):
        raise DataError(f"{name} is not an archive ({', '.join(ARCHIVE_SUFFIXES)})")
    folder = Path(root or DATA_ROOT) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = next(s for s in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True) if name.lower().endswith(s))
    path = folder / (hashlib.sha256(data).hexdigest()[:24] + suffix)
    if not path.exists():
        write_bytes_atomic(path, data)
    return load(str(path), root, progress)


# ----------------------------------------------------------------------------------------------------------------
# cache: one safetensors file per source version; never pickled


def _fingerprint(path: Path) -> str:
    if path.is_file():
        st = path.stat()
        parts = [str(path.resolve()), str(st.st_size), str(st.st_mtime_ns)]
    else:
        parts = [str(path.resolve())]
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            st = os.stat(dirpath)
            parts.append(f"{dirpath}:{len(filenames)}:{st.st_mtime_ns}")
    parts.append(str(CACHE_FORMAT))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _cached(path: Path, root: Path, source: str, progress: Progress | None, decode: Callable[[], tuple]) -> Dataset:
    cache = root / "cache" / f"{_fingerprint(path)}.safetensors"
    if cache.exists():
        try:
            tensors = load_file(cache)
            classes = tuple(json.loads(tensors.pop("classes_json").numpy().tobytes().decode()))
            return Dataset(tensors["train_x"], tensors["train_y"], tensors["test_x"], tensors["test_y"], classes, source)
        except Exception:  # a damaged cache is rebuilt, never trusted
            cache.unlink(missing_ok=True)
    train_x, train_y, test_x, test_y, classes = decode()
    dataset = Dataset(train_x, train_y, test_x, test_y, tuple(classes), source)
    _check(dataset)
    names = torch.frombuffer(bytearray(json.dumps(list(classes)).encode()), dtype=torch.uint8)
    tensors = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y, "classes_json": names}
    write_atomic(cache, lambda tmp: save_file(tensors, tmp))
    return dataset


def _check(d: Dataset) -> None:
    for split in ("train", "test"):
        x, y = d.split(split)
        if len(x) == 0:
            raise DataError(f"the {split} split has no images")
        if x.dtype != torch.uint8 or tuple(x.shape[1:]) != (3, 32, 32) or len(x) != len(y):
            raise DataError(f"the {split} split does not hold 3x32x32 images with one label each")
