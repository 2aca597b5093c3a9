"""The learning-rate finder in a thread, for pages that watch its curve grow and may Stop it."""
from __future__ import annotations

import torch

from core.data.sources import Dataset
from core.jobs.worker import Worker
from core.models.spec import ModelSpec
from core.training.config import TrainConfig, check_trainable
from core.training.lr_find import LRFindConfig, LRFindResult, lr_find
from core.training.status import RunStatus


class LRFinderJob(Worker):
    """lr_find in a thread: watchers read snapshots (copies) and may Stop it."""

    def __init__(self, spec: ModelSpec, dataset: Dataset, config: TrainConfig, settings: LRFindConfig | None = None):
        check_trainable(spec, dataset, config)  # a bad model or setting is refused here, not inside the thread
        self.settings = (settings or LRFindConfig()).check()
        self.spec, self.dataset, self.config = spec, dataset, config
        self._result = LRFindResult()
        super().__init__("lr-find")

    def snapshot(self) -> LRFindResult:
        with self._lock:
            return self._result

    def _publish(self, result: LRFindResult) -> None:
        """Called by the worker between steps: a copy, so readers never see a curve half-appended."""
        copy = LRFindResult(list(result.lrs), list(result.losses), list(result.raw_losses), result.suggested,
                            result.status, result.reason)
        with self._lock:
            self._result = copy

    def _run(self) -> None:
        try:
            result = lr_find(self.spec, self.dataset, self.config, self.settings, self.control, self._publish)
        except (torch.OutOfMemoryError, MemoryError):
            result = LRFindResult(status=RunStatus.FAILED, reason="out of memory: use a smaller batch size")
        except Exception as exc:  # reported as the job's status, never lost in a thread
            result = LRFindResult(status=RunStatus.FAILED, reason=f"{type(exc).__name__}: {exc}")
        self._publish(result)
