"""A sweep a beginner can run: two or three values for up to three settings, every combination a run of its own,
each checked like any run before one is queued."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from core.bounds import declared, is_flag, range_text, setting_of
from core.training.config import ConfigError, TrainConfig, with_overrides

MAX_AXES = 3  # settings varied at once
VALUES_PER_AXIS = (2, 3)  # fewest and most values of one setting
# every setting a form offers, except where the run trains (a sweep compares recipes, not machines); the seed too,
# to see how much of a difference is chance
SWEEPABLE = tuple(f.name for f in declared(TrainConfig)
                  if (setting_of(TrainConfig, f.name).form and f.name != "device") or f.name == "seed")
_TRUE, _FALSE = {"on", "true", "yes", "1"}, {"off", "false", "no", "0"}


class SweepError(ConfigError):
    """A sweep that cannot run; the message names the setting and what it accepts."""


@dataclass(frozen=True)
class Axis:
    name: str  # a TrainConfig setting in SWEEPABLE
    values: tuple  # typed as the setting holds them

    @classmethod
    def parse(cls, name: str, text: str) -> Axis:
        """'0.01, 0.05' -> Axis('lr', (0.01, 0.05)); each value of the setting's type, distinct, 2 or 3 of them."""
        if name not in SWEEPABLE:
            raise SweepError(f"{name} cannot be swept; choose one of {', '.join(SWEEPABLE)}")
        words = [w.strip() for w in text.replace(";", ",").split(",") if w.strip()]
        values = tuple(_typed(name, w) for w in words)
        low, high = VALUES_PER_AXIS
        if not low <= len(set(values)) == len(values) <= high:
            raise SweepError(f"{setting_of(TrainConfig, name).label}: give {low} or {high} different values, "
                             f"separated by commas (got {len(values)}{' with repeats' * (len(set(values)) < len(values))})")
        return cls(name, values)


def _typed(name: str, word: str):
    f = next(f for f in declared(TrainConfig) if f.name == name)
    label = setting_of(TrainConfig, name).label
    if is_flag(f):
        if word.lower() not in _TRUE | _FALSE:
            raise SweepError(f"{label}: {word!r} is not on or off")
        return word.lower() in _TRUE
    if "choices" in f.metadata:
        if word not in f.metadata["choices"]:
            raise SweepError(f"{label}: {word!r} is not one of {range_text(f)}")
        return word
    try:
        number = float(word)
    except ValueError:
        raise SweepError(f"{label}: {word!r} is not a number ({range_text(f)})") from None
    if f.metadata["bounds"].whole:
        if number != int(number):
            raise SweepError(f"{label}: {word!r} is not a whole number ({range_text(f)})")
        return int(number)
    return number


def expand(base: TrainConfig, axes: list[Axis]) -> list[TrainConfig]:
    """Every combination of the axes' values on top of `base`, each checked (a bad one names its values)."""
    if not 1 <= len(axes) <= MAX_AXES:
        raise SweepError(f"a sweep varies 1 to {MAX_AXES} settings")
    if len({a.name for a in axes}) != len(axes):
        raise SweepError("each setting can be swept once")
    configs = []
    for combo in itertools.product(*(a.values for a in axes)):
        changes = dict(zip((a.name for a in axes), combo))
        try:
            configs.append(with_overrides(base, **changes))  # leaving SGD leaves Nesterov behind
        except ConfigError as exc:
            shown = ", ".join(f"{k}={v}" for k, v in changes.items())
            raise SweepError(f"the run with {shown} cannot train: {exc}") from None
    return configs
