"""What the teacher sees of a class: every run with its student and settings, the best run per student, and the same
rows as CSV."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path

from core.runs.folder import list_runs
from core.runs.layout import RunError, RunFolder, read_json
from core.training.status import RunStatus

NO_OWNER = "(no owner)"  # runs from before class mode, or from the server's command line


@dataclass(frozen=True)
class ClassRow:
    run_id: str
    student: str
    kind: str
    model: str
    status: str
    accuracy: float | None  # a classifier's test accuracy; a captioner's exact-meaning share of test scenes
    epochs: str  # "done/planned"
    train_seconds: float | None
    created: float  # Unix seconds
    settings: str  # SETTING_KEYS as "epochs=8, batch_size=512, ..."


SETTING_KEYS = ("epochs", "batch_size", "lr", "optimizer", "cell", "hidden")  # the ones a teacher compares first


def _settings(folder: Path) -> str:
    """The main settings, compactly; a queued run has them in its request, a started one in config.json."""
    files = RunFolder(folder)
    try:
        config = read_json(files.config) if files.config.exists() else files.read_request().get("config")
    except RunError:
        config = None
    config = config if isinstance(config, dict) else {}
    return ", ".join(f"{k}={config[k]}" for k in SETTING_KEYS if k in config)


def class_rows(root: Path) -> list[ClassRow]:
    """Every run under `root`, newest first (damaged folders included, with their status)."""
    rows = []
    for listed in list_runs(root):
        s = listed.summary
        rows.append(ClassRow(listed.id, RunFolder(listed.path).owner or NO_OWNER, listed.kind, s.model, str(s.status),
                             s.test_accuracy, f"{s.epochs_done}/{s.epochs}", s.train_seconds, s.created,
                             _settings(listed.path)))
    return rows


def leaderboard(rows: list[ClassRow]) -> list[ClassRow]:
    """Each student's most accurate finished or stopped classifier run, best first."""
    best: dict[str, ClassRow] = {}
    for row in rows:
        if row.kind != "classifier" or row.accuracy is None or row.status not in (RunStatus.FINISHED,
                                                                                   RunStatus.STOPPED):
            continue
        if row.student not in best or row.accuracy > best[row.student].accuracy:
            best[row.student] = row
    return sorted(best.values(), key=lambda r: -r.accuracy)


def as_csv(rows: list[ClassRow]) -> str:
    out = io.StringIO()
    names = list(ClassRow.__dataclass_fields__)
    writer = csv.DictWriter(out, fieldnames=names)
    writer.writeheader()
    for row in rows:  # a spreadsheet runs a cell that starts with =, +, - or @ as a formula: never for our text
        writer.writerow({k: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for k, v in asdict(row).items()})
    return out.getvalue()
