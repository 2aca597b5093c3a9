"""The seed tutorial's own pipeline (torchvision dataset, ToTensor + Normalize, DataLoader batch 4, SGD 0.001/0.9),
kept as the speed benchmark's baseline. The engine never uses it."""
from __future__ import annotations

import hashlib
import tarfile
import time
import zipfile
from pathlib import Path

import torch
import torchvision
import torchvision.transforms as transforms
from torch import nn

from core.data import sources as data
from core.data.archives import safe_name
from core.data.official import download_official
from core.data.sources import DataError

TRANSFORM = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])


def tutorial_datasets(source: str | None = None, root: Path | None = None):
    """(trainset, testset) read image by image through torchvision, as the tutorial does."""
    source = source or data.default_source()
    root = Path(root or data.DATA_ROOT)
    if source == data.DEFAULT_SOURCE:
        return _batches(download_official(root))
    path = Path(source)
    folder = path if path.is_dir() else _unpacked(path, root)
    official = next((p.parent for p in sorted(folder.rglob("cifar-10-batches-py")) if p.is_dir()), None)
    return _batches(official) if official is not None else _folders(folder)


class _CIFAR10(torchvision.datasets.CIFAR10):
    """torchvision's CIFAR10 reader as the tutorial uses it, minus its md5 check of the batch files: the offline
    rebuild of the official release has the official pixels and labels but placeholder file names, so its checksums
    differ and stock torchvision calls it corrupted. (The project's own download checks the archive's md5 first.)
    Like the tutorial, this unpickles the batches: the benchmark baseline reads only the release's own files, never
    an upload."""

    meta = {**torchvision.datasets.CIFAR10.meta, "md5": None}  # existence only (the rebuild's meta file is exact)

    def _check_integrity(self) -> bool:
        return True


def _batches(root: Path):
    return (_CIFAR10(str(root), train=True, transform=TRANSFORM), _CIFAR10(str(root), train=False, transform=TRANSFORM))


def _folders(path: Path):
    base = next((p.parent for p in sorted(path.rglob("train")) if (p.parent / "test").is_dir()), None)
    if base is None:
        raise DataError(f"{path} has no train/ and test/ class folders")
    return (torchvision.datasets.ImageFolder(str(base / "train"), transform=TRANSFORM),
            torchvision.datasets.ImageFolder(str(base / "test"), transform=TRANSFORM))


def _unpacked(archive: Path, root: Path) -> Path:
    """ImageFolder needs files on disk: unpack once, refusing links and paths that leave the folder."""
    target = root / "unpacked" / hashlib.sha256(str(archive.resolve()).encode()).hexdigest()[:16]
    if (target / ".done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                safe_name(name, archive.name)
            z.extractall(target)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")  # the stdlib's safe filter: no links out, no absolute paths
    (target / ".done").touch()
    return target


def tutorial_loader(dataset, batch_size: int = 4, shuffle: bool = True, num_workers: int = 2):
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers)


class TutorialTrainer:
    """The tutorial's loop, resumable in segments so a benchmark can alternate it with other contenders."""

    def __init__(self, model: nn.Module, trainset, batch_size: int = 4, lr: float = 0.001, momentum: float = 0.9):
        self.model, self.trainset, self.batch_size = model, trainset, batch_size
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        self._batches = None
        self.epochs_done, self.seconds, self.images = 0, 0.0, 0

    def train_steps(self, steps: int) -> None:
        """Run `steps` batches (crossing into the next epoch as needed), timing them with the loader's start-up."""
        started = time.perf_counter()
        done = 0
        while done < steps:
            if self._batches is None:
                self._batches = iter(tutorial_loader(self.trainset, self.batch_size))
            try:
                inputs, labels = next(self._batches)
            except StopIteration:  # an epoch ended: start the next one, and still train `steps` batches
                self._batches, self.epochs_done = None, self.epochs_done + 1
                continue
            done += 1
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(inputs), labels)
            loss.backward()
            self.optimizer.step()
            loss.item()  # the tutorial reads the loss every step for its running average
            self.images += len(labels)
        self.seconds += time.perf_counter() - started
