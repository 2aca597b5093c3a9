"""Command-line flags built from each setting's declaration (core.bounds): the type, range, choices and help sentence
are read from the field, never written again here."""
from __future__ import annotations

import argparse
from dataclasses import Field, fields

from core.bounds import declared, range_text


def add_setting_flags(parser: argparse.ArgumentParser, cls, names: tuple[str, ...] | None = None,
                      default: str | None = None) -> None:
    """One --NAME flag (underscores as dashes) per declared setting of `cls`, or of those in `names`. A flag left out
    is None, so the caller keeps its own value; `default` says which ("preset default otherwise"), else the help
    names the field's own default."""
    chosen = declared(cls) if names is None else [f for f in fields(cls) if f.name in names]
    for f in chosen:
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, help=flag_help(f, default), **_kind(f))


def flag_help(f: Field, default: str | None = None) -> str:
    """The setting's one help sentence, then its range and where its default comes from."""
    note = default or f"default {_shown(f.default)}"
    allowed = f"{range_text(f)}; " if "bounds" in f.metadata else ""
    return f"{f.metadata['setting'].help} ({allowed}{note})".replace("%", "%%")  # argparse formats help with %


def given(args, cls, names: tuple[str, ...] | None = None) -> dict:
    """The settings of `cls` the command line set (a flag left out is not in it)."""
    chosen = [f.name for f in declared(cls)] if names is None else names
    return {name: getattr(args, name) for name in chosen if getattr(args, name) is not None}


def _kind(f: Field) -> dict:
    if "bounds" in f.metadata:
        return {"type": int if f.metadata["bounds"].whole else float}
    if "choices" in f.metadata:
        return {"choices": f.metadata["choices"]}
    return {"action": argparse.BooleanOptionalAction}  # --flip / --no-flip


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
