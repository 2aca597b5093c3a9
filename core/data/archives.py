"""Class-folder trees (train/<class>/<image>, test/<class>/<image>) on disk or inside a .tar/.tar.gz/.zip, read into
memory with guards: no path may leave the archive, no links or devices, at most MAX_ARCHIVE_BYTES unpacked and
MAX_ARCHIVE_MEMBERS files (archive bombs are refused by name). The official batches inside an archive are found too."""
from __future__ import annotations

import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from core.data import decoding
from core.data.dataset import DataError, Progress
from core.data.official import decode_batches, read_batches

MAX_ARCHIVE_BYTES = 2 * 1024**3  # unpacked size cap for an archive
MAX_ARCHIVE_MEMBERS = 300_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


Entry = tuple[str, str, str, Callable[[], bytes]]  # split, class, display name, reader


def read_folder(path: Path, progress: Progress | None):
    if (path / "cifar-10-batches-py").is_dir():
        return read_batches(path / "cifar-10-batches-py")
    if path.name == "cifar-10-batches-py":
        return read_batches(path)
    entries = []
    for file in sorted(path.rglob("*")):
        rel = PurePosixPath(file.relative_to(path).as_posix())
        if file.is_symlink():
            raise DataError(f"{rel} is a link; a dataset folder must hold plain files only")
        if file.is_file():
            entries.append((rel, lambda f=file: f.read_bytes()))
    return _decode_tree(entries, str(path), progress)


def read_archive(path: Path, progress: Progress | None):
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
        return decode_batches(lambda name: batches[name]() if name in batches else None, path.name)
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
        out[split] = decoding.decode_images(items, split, where, progress)
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
