"""Who may see which run: in personal mode everyone sees everything; in class mode a student sees their own runs and
the teacher sees all. A run someone may not see reads exactly as a run that does not exist."""
from __future__ import annotations

from core.classroom.accounts import Identity
from core.jobs.registry import JobRegistry
from core.jobs.watched import WatchedRun, find_run, not_found
from core.runs.folder import ListedRun
from core.runs.layout import RunFolder
from core.runs.summary import RunKind


def can_see(viewer: Identity | None, owner: str | None, starter: bool = False) -> bool:
    """None is personal mode's viewer (no accounts): it sees all. Starters are everyone's. Runs without an owner
    (trained before class mode, or from the server's command line) are the teacher's to see."""
    return viewer is None or starter or viewer.teacher or (owner is not None and owner == viewer.name)


def can_see_folder(viewer: Identity | None, folder) -> bool:
    files = RunFolder(folder)
    return can_see(viewer, files.owner, files.starter)


def visible(listed: list[ListedRun], viewer: Identity | None) -> list[ListedRun]:
    return listed if viewer is None else [r for r in listed if can_see_folder(viewer, r.path)]


def find_visible_run(registry: JobRegistry, run_id: str, kind: RunKind, viewer: Identity | None) -> WatchedRun:
    """find_run, refused with find_run's own "not found" message when the viewer may not see it: whether another
    student's run exists is not given away."""
    watched = find_run(registry, run_id, kind)
    if not can_see_folder(viewer, watched.folder):
        raise not_found(run_id, kind)
    return watched
