"""A unit of work in a daemon thread that watchers can stop: what every background job shares."""
from __future__ import annotations

import threading

import torch

from core.training.callbacks import Control


class Worker:
    """Work in a daemon thread that watchers can Stop through `control` (the loop checks it between steps); `_run`
    does the work and `_lock` guards whatever it shares with watchers."""

    def __init__(self, name: str):
        self.control = Control()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._on_end: list = []
        self.threads: int | None = None  # torch threads of its thread (OpenMP keeps it per thread); None: as is

    def when_done(self, callback) -> None:
        """Call `callback(self)` in the worker's thread once `_run` has returned (a scheduler starts the next run)."""
        self._on_end.append(callback)

    def run_here(self) -> None:
        """Do the work in the calling thread instead (a worker process has nothing else to do with it)."""
        self._main()

    def _main(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            self._run()
        finally:
            for callback in self._on_end:
                callback(self)

    def start(self):
        self._thread.start()
        return self

    @property
    def waiting(self) -> bool:
        """Made but not started: waiting its turn in a queue (a cancelled one waits forever, and is dropped)."""
        return self._thread.ident is None

    def stop(self) -> None:
        self.control.stop()  # the loop reports the stop at the step where it takes effect

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError
