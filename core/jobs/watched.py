"""The run a page watches, named by the address or the session: a job this process trains, or a run folder written
by an earlier one. Found here once, of the kind the page shows, so the Train and Caption pages share one path."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.jobs.registry import BackgroundJob, JobRegistry
from core.runs.folder import run_path
from core.runs.layout import RunError, RunFolder
from core.runs.summary import RunKind
from core.runs.view import RunView


@dataclass(frozen=True)
class WatchedRun:
    id: str
    folder: Path
    job: BackgroundJob | None  # None: only its folder is left (a restarted server, or a job forgotten since)

    @property
    def alive(self) -> bool:
        """Whether its thread still trains (the page keeps redrawing while it does)."""
        return self.job is not None and self.job.alive

    @property
    def waiting(self) -> bool:
        """Whether it waits in the queue (the page keeps watching for it to start)."""
        try:
            return RunFolder(self.folder).read_summary().status.waiting
        except RunError:
            return False

    def view(self) -> RunView:
        """The run as it is now; read again on every call."""
        return self.job.snapshot().view() if self.job is not None else RunView.from_folder(self.folder)


def find_run(registry: JobRegistry, run_id: str, kind: RunKind) -> WatchedRun:
    """The run called `run_id`, of this kind: a job of this process, else a folder whose summary is written. Raises
    RunError saying no such run was found (an id of another kind, or one that is not an id, reads the same)."""
    job = registry.get(run_id)
    if job is not None and job.kind == kind:
        return WatchedRun(job.id, job.folder, job)
    try:
        folder = run_path(run_id, registry.runs_root)  # the runs folder of this server, where pages look for runs
    except RunError as exc:
        raise RunError(f"{not_found(run_id, kind)}: {exc}") from None
    files = RunFolder(folder)
    if files.kind != kind or not files.summary.exists():
        raise not_found(run_id, kind)
    return WatchedRun(run_id, folder, None)


def not_found(run_id: str, kind: RunKind) -> RunError:
    """The one message for a run that is not there, or not there for this viewer (core.classroom.access)."""
    return RunError(f"No {kind} run called `{run_id[:80]}` was found.")
