"""Who trains a run once the queue lets it start. Personal mode: a thread of the server process (today's way, no new
dependency). Class mode: a Ray worker process (core.classroom.ray_workers), so one run that exhausts memory or crashes
takes nothing else down. Both leave the same run folder behind."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol

from core.classroom.requests import RunRequest, build_job
from core.data.sources import Dataset
from core.data.store import DatasetStore
from core.jobs.registry import BackgroundJob, JobRegistry

Ended = Callable[[str], None]  # called with the run's id once it has ended, whatever the outcome


class Executor(Protocol):
    in_process: bool  # whether the job built when a run was asked for is the one that trains

    def start(self, run_id: str, request: RunRequest, folder: Path, job: BackgroundJob | None,
              on_end: Ended):
        """Start training it; returns the handle pages watch (snapshot, stop, set_lr, alive)."""


class ThreadExecutor:
    """Each run in a daemon thread of this process, as the dashboard has always trained. `share_cores`: each run's
    torch threads are the machine's cores divided among the slots (class mode without Ray), so runs side by side do
    not ask for more threads than there are cores; personal mode leaves torch's own count, as it always has."""

    in_process = True

    def __init__(self, registry: JobRegistry, datasets: DatasetStore, runs_root: Path, share_cores: bool = False):
        self.registry, self.datasets, self.runs_root = registry, datasets, runs_root
        self.threads = max(1, (os.cpu_count() or 1) // max(1, registry.max_running)) if share_cores else None

    def start(self, run_id: str, request: RunRequest, folder: Path, job: BackgroundJob | None, on_end: Ended):
        if job is None:  # asked for before a restart: built again from its request
            dataset: Dataset = self.datasets.get(request.source)
            job = build_job(request, dataset, folder, self.runs_root)
        job.threads = self.threads
        job.when_done(lambda _: on_end(run_id))
        return self.registry.adopt(job)
