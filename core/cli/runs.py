"""`runs`: list the saved runs of both kinds, or delete one."""
from __future__ import annotations

from core.cli._common import add_json
from core.runs.folder import delete_run, list_runs, resolve_cli_run


def add_parser(subparsers) -> None:
    runs = subparsers.add_parser("runs", help="list saved runs, or delete one")
    runs.add_argument("--delete", metavar="RUN", help="delete this run folder")
    add_json(runs)
    runs.set_defaults(handler=cmd_runs)


def cmd_runs(args) -> dict:
    if args.delete:
        delete_run(resolve_cli_run(args.delete, kind=None))
        if not args.json:
            print(f"deleted {args.delete}")
        return {"deleted": args.delete}
    listed = list_runs()
    if not args.json:
        for r in listed:
            acc = r.summary.test_accuracy
            print(f"{r.id:<48} {r.summary.status:<12} {'' if acc is None else f'{acc:.1%}'}"
                  f"{'  (starter, read-only)' if r.starter else ''}")
    return {"runs": [{"id": r.id, "status": r.summary.status, "test_accuracy": r.summary.test_accuracy,
                      "model": r.summary.model, "kind": r.kind, "starter": r.starter} for r in listed]}
