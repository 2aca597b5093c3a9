"""Allowed values of a setting, declared once on the dataclass field: validation, widgets and the CLI all read them."""
from __future__ import annotations

import math
from dataclasses import MISSING, Field, dataclass, field, fields


@dataclass(frozen=True)
class Bounds:
    """A closed range [low, high] of whole numbers or of floats."""

    low: float
    high: float
    whole: bool = True
    suggest: float | None = None  # where a widget starts when the setting has no default (e.g. out_channels)

    def problem(self, name: str, value) -> str | None:
        ok_type = isinstance(value, int) if self.whole else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or (not self.whole and math.isnan(value)) \
                or not self.low <= value <= self.high:
            kind = "a whole number" if self.whole else "a number"
            return f"{name} must be {kind} from {self.low:g} to {self.high:g}, got {value!r:.40}"
        return None

    @property
    def span(self) -> tuple:
        """(low, high) typed for a widget (ints for whole numbers): the range checked is the range shown."""
        return (int(self.low), int(self.high)) if self.whole else (float(self.low), float(self.high))


def ranged(default=MISSING, *, low: float, high: float, whole: bool = True, suggest: float | None = None):
    """A dataclass field whose value must lie in [low, high]."""
    return field(default=default, metadata={"bounds": Bounds(low, high, whole, suggest)})


def choice(default, options: tuple[str, ...]):
    """A dataclass field whose value must be one of `options`."""
    return field(default=default, metadata={"choices": tuple(options)})


def bounds_of(cls, name: str) -> Bounds:
    return _field(cls, name).metadata["bounds"]


def choices_of(cls, name: str) -> tuple[str, ...]:
    return _field(cls, name).metadata["choices"]


def is_flag(f: Field) -> bool:
    return f.type in ("bool", bool)


def settings_problem(obj) -> str | None:
    """The first setting of a dataclass instance outside what its field declares, in words; None when all fit."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if "bounds" in f.metadata:
            problem = f.metadata["bounds"].problem(f.name, value)
        elif "choices" in f.metadata:
            options = f.metadata["choices"]
            problem = None if value in options else f"{f.name} must be one of {', '.join(options)}, got {value!r:.40}"
        elif is_flag(f):
            problem = None if isinstance(value, bool) else f"{f.name} must be true or false, got {value!r:.40}"
        else:
            continue
        if problem:
            return problem
    return None


def settings_from_json(cls, data, what: str, error: type[Exception]):
    """A checked settings dataclass from a JSON object; unknown or badly typed settings raise `error` by name."""
    if not isinstance(data, dict):
        raise error(f"a {what} config is a JSON object")
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise error(f"unknown {what} setting {unknown[0]!r}")
    try:
        return cls(**data).check()
    except TypeError as exc:
        raise error(str(exc)) from None


def _field(cls, name: str) -> Field:
    return next(f for f in fields(cls) if f.name == name)
