"""A run's status, one type for the engine, the run folder and the pages. A StrEnum, so it is written to JSON as its
plain name ("finished") and compares equal to it: run folders from before this type read back unchanged."""
from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    STARTING = "starting"  # a job made, its thread not yet training
    RUNNING = "running"
    FINISHED = "finished"  # every epoch done
    STOPPED = "stopped"  # Stop pressed (or Ctrl-C): the weights so far are kept
    DIVERGED = "diverged"  # the loss became NaN or infinite: the last finished epoch's weights are kept
    FAILED = "failed"  # refused or crashed; the reason says why (and error.log has the traceback)
    INTERRUPTED = "interrupted"  # read back "running" from a process that died
    DAMAGED = "damaged"  # a run folder whose summary cannot be read
    QUEUED = "queued"  # asked for, waiting for a free slot (core.classroom.scheduler): nothing trained yet
    CANCELLED = "cancelled"  # taken out of the queue before it started

    @property
    def active(self) -> bool:
        return self in (RunStatus.STARTING, RunStatus.RUNNING)

    @property
    def waiting(self) -> bool:
        """Not started yet, but will be: a page keeps watching it."""
        return self == RunStatus.QUEUED

    @property
    def went_wrong(self) -> bool:
        return self in (RunStatus.DIVERGED, RunStatus.FAILED, RunStatus.INTERRUPTED)


def status_of(value) -> RunStatus:
    """A status read from a file: unknown text counts as a damaged run rather than an error."""
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.DAMAGED
