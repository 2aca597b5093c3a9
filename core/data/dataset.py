"""What every data source becomes: a Dataset of uint8 images and labels, and the DataError every reader raises."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from core.errors import UserError

Progress = Callable[[int, int, str], None]  # (done, total, message)


class DataError(UserError):
    """A data source that cannot be used; the message says why and how to supply the data instead."""


HOW_TO_SUPPLY = (
    "supply the data another way: set CIFAR10_DATA (or pass --data) to a folder holding cifar-10-batches-py/, "
    "a class-folder tree (train/<class>/*.png and test/<class>/*.png), or a .tar.gz/.tgz/.tar/.zip archive of one"
)


@dataclass(frozen=True)
class Dataset:
    """A whole split pair in memory: images (N, 3, 32, 32) uint8, labels (N,) int64."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    source: str

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        if name not in ("train", "test"):
            raise ValueError(f"split is 'train' or 'test', not {name!r}")
        return (self.train_x, self.train_y) if name == "train" else (self.test_x, self.test_y)

    def class_counts(self, name: str) -> list[int]:
        return torch.bincount(self.split(name)[1], minlength=len(self.classes)).tolist()
