"""Datasets as a server holds them: one decoded copy per source shared by every session (DatasetStore), and the
allowlist of server folders a visitor may name as a source."""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from pathlib import Path

from core.data import sources as data
from core.data.dataset import DataError, Dataset, Progress


class DatasetStore:
    """One decoded copy per source for a whole process (the dashboard shares it across browser sessions).
    A source loads once, outside the store's lock: sessions asking for it wait for that load only, and sessions
    asking for another source are never held up by it."""

    def __init__(self, root: Path | None = None):
        self.root = root
        self._lock = threading.Lock()
        self._sets: dict[str, Future] = {}

    def get(self, source: str | None = None, progress: Progress | None = None) -> Dataset:
        source = source or data.default_source()
        with self._lock:
            pending, mine = self._sets.get(source), False
            if pending is None:
                pending, mine = self._sets.setdefault(source, Future()), True
        if mine:
            try:
                pending.set_result(data.load(source, self.root, progress))
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
    roots = [data.DATA_ROOT.resolve()]  # read at call time: tests and CIFAR10_ROOT may move it
    env = os.environ.get("CIFAR10_DATA")
    if env and env != data.DEFAULT_SOURCE:
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
