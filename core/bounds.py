"""Each setting declared once, on its dataclass field: its allowed values (a range or choices), its default, and what a
person is told about it (label, unit, one help sentence, group). Validation, the CLI flags and the forms all read it."""
from __future__ import annotations

import math
from dataclasses import MISSING, Field, dataclass, field, fields

# Where a setting belongs, in the order a form shows the groups (a later form draws each as a collapsible section).
GROUPS = {
    "essentials": "how long, how big a step, and which optimizer",
    "optimizer": "what each step does beyond the learning rate",
    "schedule": "how the learning rate moves through the run",
    "regularisation": "what keeps the network from memorising its training images",
    "augmentation": "how each training image is changed before the network sees it",
    "data": "which training images take part",
    "encoder": "how a captioner's encoder is trained",
    "decoder": "the captioner's sentence writer",
    "evaluation": "what is measured, and how",
    "sweep": "the learning-rate range test's sweep",
    "device": "where and in which number format the work runs",
}


@dataclass(frozen=True)
class Setting:
    """What a person is told about one setting; the CLI flag's help and the form widget's label and help read it."""

    label: str  # the widget's label, a few words
    help: str  # ONE sentence: what it does, and which value turns it off
    group: str  # a key of GROUPS
    unit: str = ""  # what one of it is ("images", "pixels"), said after the range
    step: float | None = None  # the widget's step (None: the widget's own)
    form: bool = True  # False: a recipe setting the presets and the CLI set, not offered on the form

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(f"setting group {self.group!r} is not one of {', '.join(GROUPS)}")
        if self.help.count(". ") or not self.help.endswith("."):
            raise ValueError(f"a setting's help is one sentence ending in a full stop: {self.help!r}")


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


def ranged(default=MISSING, *, low: float, high: float, whole: bool = True, suggest: float | None = None, **about):
    """A dataclass field whose value must lie in [low, high]; `about` (Setting's fields) says what it is to a person."""
    return field(default=default, metadata={"bounds": Bounds(low, high, whole, suggest), **_about(about)})


def choice(default, options: tuple[str, ...], **about):
    """A dataclass field whose value must be one of `options`."""
    return field(default=default, metadata={"choices": tuple(options), **_about(about)})


def switch(default: bool, **about):
    """A dataclass field that is on or off."""
    return field(default=default, metadata=_about(about))


def _about(about: dict) -> dict:
    return {"setting": Setting(**about)} if about else {}


def bounds_of(cls, name: str) -> Bounds:
    return field_of(cls, name).metadata["bounds"]


def choices_of(cls, name: str) -> tuple[str, ...]:
    return field_of(cls, name).metadata["choices"]


def setting_of(cls, name: str) -> Setting:
    return field_of(cls, name).metadata["setting"]


def declared(cls) -> list[Field]:
    """The fields of a settings dataclass that say what they are to a person, in declaration order."""
    return [f for f in fields(cls) if "setting" in f.metadata]


def range_text(f: Field) -> str:
    """The allowed values in words, as the CLI's help says them ("1 to 500 passes", "sgd, adam or adamw")."""
    unit = f.metadata["setting"].unit
    if "bounds" in f.metadata:
        b = f.metadata["bounds"]
        return f"{b.low:g} to {b.high:g}" + (f" {unit}" if unit else "")
    if "choices" in f.metadata:
        *most, last = f.metadata["choices"]
        return f"{', '.join(most)} or {last}" if most else last
    return "on or off"


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


def field_of(cls, name: str) -> Field:
    return next(f for f in fields(cls) if f.name == name)
