"""The official CIFAR-10 release: its download (through torchvision) and its python batch files, read with an
unpickler that allows only the numpy pieces a data file needs, so no code in a file can run."""
from __future__ import annotations

import io
import pickle
import socket
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from core.data.dataset import HOW_TO_SUPPLY, DataError

DOWNLOAD_TIMEOUT_S = 10  # per network operation; a machine without network fails fast


def download_official(root: Path) -> Path:
    folder = root / "cifar-10-batches-py"
    if (folder / "batches.meta").exists() and (folder / "test_batch").exists():
        return root
    from torchvision.datasets import CIFAR10

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    started = time.monotonic()
    try:
        CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # urllib, ssl, checksum: all mean "no official data here"
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(
            f"could not download CIFAR-10 from {CIFAR10.url} after {time.monotonic() - started:.0f} s ({reason}); "
            + HOW_TO_SUPPLY
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    return root


class _BatchUnpickler(pickle.Unpickler):
    """The official batches are pickles: allow only the numpy pieces they need, so no code can run."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise DataError(f"a CIFAR-10 batch file refers to {module}.{name}, which a data file never needs; refused")


def _unpickle(raw: bytes, name: str) -> dict:
    try:
        obj = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{name} is not a readable CIFAR-10 batch file ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{name} is not a readable CIFAR-10 batch file")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


BatchReader = Callable[[str], "bytes | None"]  # a batch file's bytes by name (None when absent)


def _parse_batch(raw: bytes, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    batch = _unpickle(raw, name)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or labels is None:
        raise DataError(f"{name} does not hold 3072-byte images with labels")
    if len(labels) != len(data):
        raise DataError(f"{name} holds {len(data)} images but {len(labels)} labels")
    x = torch.from_numpy(np.ascontiguousarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).copy())
    return x, torch.tensor(list(labels), dtype=torch.int64)


def read_batches(folder: Path):
    if not folder.is_dir():
        raise DataError(f"{folder} is missing; " + HOW_TO_SUPPLY)
    return decode_batches(lambda name: (folder / name).read_bytes() if (folder / name).is_file() else None, str(folder))


def _required(read: BatchReader, name: str, where: str) -> bytes:
    raw = read(name)
    if raw is None:
        raise DataError(f"{name} is missing from {where}")
    return raw


def decode_batches(read: BatchReader, where: str):
    """The official python batches (batches.meta, data_batch_1..5, test_batch), from a folder or an archive."""
    meta = _unpickle(_required(read, "batches.meta", where), "batches.meta")
    classes = [c.decode() if isinstance(c, bytes) else str(c) for c in meta.get("label_names", [])]
    if not classes:
        raise DataError("batches.meta has no label_names")
    raws = {name: read(name) for name in (f"data_batch_{i}" for i in range(1, 6))}
    parts = [_parse_batch(raw, name) for name, raw in raws.items() if raw is not None]
    if not parts:
        raise DataError(f"{where} has no data_batch_N files")
    test_x, test_y = _parse_batch(_required(read, "test_batch", where), "test_batch")
    train_x, train_y = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    for y in (train_y, test_y):
        if len(y) and (y.min() < 0 or y.max() >= len(classes)):
            raise DataError(f"labels run outside the {len(classes)} class names of batches.meta")
    return train_x, train_y, test_x, test_y, classes
