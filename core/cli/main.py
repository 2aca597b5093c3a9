"""`python -m core`: the top parser built from the command groups, dispatch, and every error as one line. --json puts
one JSON object on stdout's last line."""
from __future__ import annotations

import argparse
import json
import sys
import traceback

from core.cli import (
    accounts,
    caption,
    evaluate,
    export,
    insight,
    lr_find,
    models,
    runs,
    train,
)
from core.cli._common import DEBUG_HELP, Parser
from core.errors import UserError

# each adds its commands, in this order
GROUPS = (train, evaluate, insight, runs, export, caption, lr_find, models, accounts)
USER_ERRORS = (UserError, KeyError, OSError)  # what a person did wrong (a missing file, an unknown class): one line


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m core", description="CIFAR-10 Studio's engine from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in GROUPS:
        group.add_parser(sub)
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    for command in sub.choices.values():  # before or after the command, as people type it
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv  # known even when parsing itself fails
    try:
        args = build_parser().parse_args(argv)
        result = args.handler(args)
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return _fail(f"error: {message}", debug)
    except KeyboardInterrupt:
        return _fail("error: interrupted", debug)
    except Exception as exc:  # an engine bug still gets one line; --debug adds the traceback
        hint = "" if debug else " (run again with --debug for the traceback)"
        return _fail(f"error: unexpected {type(exc).__name__}: {exc}{hint}", debug)
    if args.json:
        print(json.dumps(result))
    return 0


def _fail(line: str, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(line.replace("\n", " "), file=sys.stderr)  # the last line, always one
    return 2
