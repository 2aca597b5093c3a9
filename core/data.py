"""CIFAR-10 sources (official download, folders, archives) decoded once into uint8 tensors, with a disk cache."""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import socket
import stat
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from .images import ImageError, decode_image, to_model_input
from .storage import write_atomic, write_bytes_atomic

DEFAULT_SOURCE = "cifar10"
DATA_ROOT = Path(os.environ.get("CIFAR10_ROOT", "data"))
DOWNLOAD_TIMEOUT_S = 10  # per network operation; a machine without network fails fast
MAX_ARCHIVE_BYTES = 2 * 1024**3  # unpacked size cap for an archive
MAX_ARCHIVE_MEMBERS = 300_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
CACHE_FORMAT = 1

Progress = Callable[[int, int, str], None]  # (done, total, message)


class DataError(ValueError):
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


def default_source() -> str:
    return os.environ.get("CIFAR10_DATA") or DEFAULT_SOURCE


def load(source: str | None = None, root: Path | None = None, progress: Progress | None = None) -> Dataset:
    """Load a source string: 'cifar10', a folder, or an archive. Decodes once, then reads from the cache."""
    source = source or default_source()
    root = Path(root or DATA_ROOT)
    if source == DEFAULT_SOURCE:
        folder = download_official(root)
        return _cached(folder, root, source, progress, lambda: _read_batches(folder / "cifar-10-batches-py"))
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"data source {source!r} does not exist; use 'cifar10', a folder or an archive")
    if path.is_dir():
        return _cached(path, root, source, progress, lambda: _read_folder(path, progress))
    if path.name.lower().endswith(ARCHIVE_SUFFIXES):
        return _cached(path, root, source, progress, lambda: _read_archive(path, progress))
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


# ----------------------------------------------------------------------------------------------------------------
# the official release (python batches), downloaded through torchvision


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


def _read_batches(folder: Path):
    if not folder.is_dir():
        raise DataError(f"{folder} is missing; " + HOW_TO_SUPPLY)
    return _decode_batches(lambda name: (folder / name).read_bytes() if (folder / name).is_file() else None, str(folder))


def _required(read: BatchReader, name: str, where: str) -> bytes:
    raw = read(name)
    if raw is None:
        raise DataError(f"{name} is missing from {where}")
    return raw


def _decode_batches(read: BatchReader, where: str):
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


# ----------------------------------------------------------------------------------------------------------------
# class-folder trees: train/<class>/<image>, test/<class>/<image>, on disk or inside an archive

Entry = tuple[str, str, str, Callable[[], bytes]]  # split, class, display name, reader


def _read_folder(path: Path, progress: Progress | None):
    if (path / "cifar-10-batches-py").is_dir():
        return _read_batches(path / "cifar-10-batches-py")
    if path.name == "cifar-10-batches-py":
        return _read_batches(path)
    entries = []
    for file in sorted(path.rglob("*")):
        rel = PurePosixPath(file.relative_to(path).as_posix())
        if file.is_symlink():
            raise DataError(f"{rel} is a link; a dataset folder must hold plain files only")
        if file.is_file():
            entries.append((rel, lambda f=file: f.read_bytes()))
    return _decode_tree(entries, str(path), progress)


def _read_archive(path: Path, progress: Progress | None):
    """Read members straight from the archive into memory: nothing is written, names and sizes are checked."""
    lower = path.name.lower()
    try:
        if lower.endswith(".zip"):
            entries = list(_zip_entries(path))
        else:
            entries = list(_tar_entries(path))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{path.name} is not a readable archive ({exc})") from None
    batches = {name.name: read for name, read in entries if name.parent.name == "cifar-10-batches-py"}
    if batches:  # the official cifar-10-python.tar.gz, as downloaded
        if progress:
            progress(0, 1, "reading the python batches")
        return _decode_batches(lambda name: batches[name]() if name in batches else None, path.name)
    return _decode_tree(entries, path.name, progress)


def safe_name(name: str, archive: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if name.startswith(("/", "\\")) or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise DataError(f"{archive} contains the path {name!r}, which points outside the archive; refused")
    return p


class _Budget:
    def __init__(self, archive: str):
        self.archive, self.bytes, self.members = archive, 0, 0

    def add(self, size: int) -> None:
        self.bytes += size
        self.members += 1
        if self.bytes > MAX_ARCHIVE_BYTES:
            raise DataError(
                f"{self.archive} unpacks to more than {MAX_ARCHIVE_BYTES // 2**30} GB; refused (it may be an archive bomb)"
            )
        if self.members > MAX_ARCHIVE_MEMBERS:
            raise DataError(f"{self.archive} holds more than {MAX_ARCHIVE_MEMBERS:,} files; refused")


def _tar_entries(path: Path) -> Iterator[tuple[PurePosixPath, Callable[[], bytes]]]:
    budget = _Budget(path.name)
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            name = safe_name(member.name, path.name)
            if member.issym() or member.islnk():
                raise DataError(f"{path.name} contains a link ({member.name}); a dataset archive must hold plain files only")
            if member.isdev() or member.isfifo():
                raise DataError(f"{path.name} contains a device or pipe ({member.name}); refused")
            if not member.isfile():
                continue
            budget.add(member.size)
            data = tar.extractfile(member).read()
            yield name, (lambda d=data: d)


def _zip_entries(path: Path) -> Iterator[tuple[PurePosixPath, Callable[[], bytes]]]:
    budget = _Budget(path.name)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        for info in infos:  # check every name and size before reading anything
            safe_name(info.filename, path.name)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise DataError(f"{path.name} contains a link ({info.filename}); a dataset archive must hold plain files only")
            if not info.is_dir():
                budget.add(info.file_size)
        for info in infos:
            if not info.is_dir():
                with archive.open(info) as member:
                    data = member.read(MAX_ARCHIVE_BYTES + 1)
                yield PurePosixPath(info.filename), (lambda d=data: d)


def _split_and_class(rel: PurePosixPath) -> tuple[str, str] | None:
    """train/<class>/<file> (under any wrapping folders) -> (split, class); other files -> None."""
    parts = rel.parts
    for i in range(len(parts) - 2):
        if parts[i] in ("train", "test") and i + 3 == len(parts):
            return parts[i], parts[i + 1]
    return None


def _decode_tree(entries: list, where: str, progress: Progress | None):
    found: list[tuple[str, str, PurePosixPath, Callable[[], bytes]]] = []
    for rel, read in entries:
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue  # hidden files and macOS resource forks are not data
        place = _split_and_class(rel)
        if place is None:
            continue  # a README or licence beside the splits
        if rel.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"{where}: {rel} is not an image ({', '.join(sorted(IMAGE_SUFFIXES))}); remove it")
        found.append((place[0], place[1], rel, read))
    if not found:
        raise DataError(
            f"{where} holds neither cifar-10-batches-py/ nor train/<class>/ and test/<class>/ image folders"
        )
    classes = _classes_of(found, where)
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    for split in ("train", "test"):
        items = [(rel, read, index[c]) for s, c, rel, read in found if s == split]
        out[split] = _decode_images(items, split, where, progress)
    return (*out["train"], *out["test"], classes)


def _classes_of(found, where: str) -> list[str]:
    per_split = {s: {c for sp, c, _, _ in found if sp == s} for s in ("train", "test")}
    for split in ("train", "test"):
        if not per_split[split]:
            raise DataError(f"{where} has no {split}/<class>/ images; both train and test splits are needed")
    if per_split["train"] != per_split["test"]:
        only_train = sorted(per_split["train"] - per_split["test"])
        only_test = sorted(per_split["test"] - per_split["train"])
        detail = "; ".join(
            part for part in (
                f"only in train: {', '.join(only_train)}" if only_train else "",
                f"only in test: {', '.join(only_test)}" if only_test else "",
            ) if part
        )
        raise DataError(f"{where}: train and test hold different classes ({detail}); every class needs both")
    classes = sorted(per_split["train"])
    if len(classes) < 2:
        raise DataError(f"{where} has only one class ({classes[0]}); a classifier needs at least two")
    return classes


def _decode_images(items, split: str, where: str, progress: Progress | None):
    total = len(items)
    pixels = np.empty((total, 32, 32, 3), dtype=np.uint8)  # (N, H, W, C) as decoders produce it
    y = torch.tensor([label for _, _, label in items], dtype=torch.int64)

    def decode(i: int) -> None:
        rel, read, _ = items[i]
        raw = read()
        try:
            pixels[i] = _plain_32x32(raw)
        except _NotPlain:  # anything unusual takes the careful path that uploads take
            try:
                pixels[i] = to_model_input(decode_image(raw, str(rel))).permute(1, 2, 0).numpy()
            except ImageError as exc:
                raise DataError(f"{where}: {exc}") from None

    # Pillow releases the GIL while decoding, so threads use every core
    chunk = 2000
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for start in range(0, total, chunk):
            list(pool.map(decode, range(start, min(total, start + chunk))))
            if progress:
                progress(min(total, start + chunk), total, f"decoding {split} images")
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous(), y


class _NotPlain(Exception):
    pass


def _plain_32x32(raw: bytes) -> np.ndarray:
    """The common case, fast: an RGB 32x32 PNG/JPEG without EXIF, decoded straight to pixels."""
    try:
        image = Image.open(io.BytesIO(raw))
        if image.size != (32, 32) or image.mode != "RGB" or image.format not in ("JPEG", "PNG") \
                or "exif" in image.info or "transparency" in image.info:
            raise _NotPlain
        return np.asarray(image)
    except (OSError, SyntaxError, ValueError):
        raise _NotPlain from None


class DatasetStore:
    """One decoded copy per source for a whole process (the dashboard shares it across browser sessions).
    A source loads once, outside the store's lock: sessions asking for it wait for that load only, and sessions
    asking for another source are never held up by it."""

    def __init__(self, root: Path | None = None):
        self.root = root
        self._lock = threading.Lock()
        self._sets: dict[str, Future] = {}

    def get(self, source: str | None = None, progress: Progress | None = None) -> Dataset:
        source = source or default_source()
        with self._lock:
            pending, mine = self._sets.get(source), False
            if pending is None:
                pending, mine = self._sets.setdefault(source, Future()), True
        if mine:
            try:
                pending.set_result(load(source, self.root, progress))
            except BaseException as exc:
                with self._lock:
                    del self._sets[source]  # a failed load is tried again next time (the file may be fixed)
                pending.set_exception(exc)
        return pending.result()

    def add(self, dataset: Dataset) -> None:
        done: Future = Future()
        done.set_result(dataset)
        with self._lock:
            self._sets[dataset.source] = done


def allowed_roots() -> list[Path]:
    """Server folders a visitor may name as a data source: the data folder, the default source's folder, and
    CIFAR10_ALLOWED_DIRS (os.pathsep-separated). Anything else on the server's disk is off limits."""
    roots = [DATA_ROOT.resolve()]
    env = os.environ.get("CIFAR10_DATA")
    if env and env != DEFAULT_SOURCE:
        roots.append(Path(env).expanduser().resolve().parent)
    roots += [Path(p).expanduser().resolve() for p in os.environ.get("CIFAR10_ALLOWED_DIRS", "").split(os.pathsep) if p]
    return roots


def check_server_path(text: str) -> str:
    """A path typed into the UI: allowed only inside allowed_roots(), so nobody can browse the server's disk."""
    path = Path(text).expanduser().resolve()
    roots = allowed_roots()
    if not any(path == root or root in path.parents for root in roots):
        raise DataError(
            f"{text} is outside the folders this server allows ({', '.join(map(str, roots))}); "
            "add a folder to CIFAR10_ALLOWED_DIRS to allow it"
        )
    return str(path)
