"""Runs compared by their settings: which settings differ between them, and what each run reached. What the Train
page's comparison table and parallel-coordinates chart (and a sweep's results) read."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.runs.folder import open_run
from core.runs.layout import RunError

FIGURES = ("test accuracy", "best held-out accuracy", "epochs done", "training seconds")


@dataclass(frozen=True)
class Comparison:
    runs: list[str]  # run ids, in the order asked for
    statuses: list[str]  # how each ended (a diverged run of a sweep is a result too)
    settings: list[str]  # the settings (and "model") whose values differ between the runs
    values: list[dict]  # per run: setting -> value, for every name in `settings`
    figures: list[dict]  # per run: FIGURES name -> number or None

    def rows(self) -> list[dict]:
        """One row per run: its id, the settings that differ, then its figures (a table's rows)."""
        return [{"run": rid, "status": s, **v, **f}
                for rid, s, v, f in zip(self.runs, self.statuses, self.values, self.figures)]


def compare_runs(folders: list[Path]) -> Comparison:
    """Raises RunError for a folder that is not a readable classifier run."""
    opened = [open_run(folder) for folder in folders]
    if not opened:
        raise RunError("no runs to compare")
    every = [{"model": r.spec.name, **r.config.to_json()} for r in opened]
    names = [n for n in every[0] if len({repr(e.get(n)) for e in every}) > 1]
    figures = [{"test accuracy": r.summary.test_accuracy, "best held-out accuracy": r.summary.best_holdout_accuracy,
                "epochs done": r.summary.epochs_done, "training seconds": r.summary.train_seconds} for r in opened]
    return Comparison([r.id for r in opened], [str(r.summary.status) for r in opened], names, [{n: e.get(n) for n in names} for e in every], figures)
