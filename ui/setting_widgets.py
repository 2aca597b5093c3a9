"""One form widget per declared setting: its label, help, range, step and options come from the field's declaration
(core.bounds), the same one the CLI's flags and the config's check read."""
from __future__ import annotations

import math
from dataclasses import fields

from core.bounds import bounds_of, field_of, is_flag


def setting_ui(where, cls, name: str, key: str, widget: str, value=None, *, options=None, high=None):
    """The widget for setting `name` of `cls` in `where` (a column), prefilled with `value` (None on a select_slider:
    it keeps the value it holds); `widget` is one of number, slider, select_slider, select, segmented, toggle,
    checkbox. `options` (select_slider) and `high` (a lower ceiling, such as the images there are) narrow the range."""
    f = field_of(cls, name)
    s = f.metadata["setting"]
    about = {"key": key, "help": s.help}
    if "choices" in f.metadata:
        choices = f.metadata["choices"]
        if widget == "segmented":
            return where.segmented_control(s.label, choices, default=value, **about)
        return where.selectbox(s.label, choices, choices.index(value), **about)
    if is_flag(f):
        return (where.toggle if widget == "toggle" else where.checkbox)(s.label, bool(value), **about)
    if widget == "select_slider":
        return where.select_slider(s.label, options, **({} if value is None else {"value": value}), **about)
    low, top = f.metadata["bounds"].span
    top = top if high is None else min(top, high)
    typed = type(low)  # int for whole numbers, float otherwise: the widget returns what the field holds
    step = None if s.step is None else typed(s.step)
    draw = where.slider if widget == "slider" else where.number_input
    return draw(s.label, low, top, typed(value), step, **about)


def typed_settings(cls, values: dict) -> dict:
    """Widget values as the field types of `cls` hold them (number inputs may hand back floats for whole numbers)."""
    cast = {"int": int, "float": float, "bool": bool, "str": str}
    kinds = {f.name: cast[f.type if isinstance(f.type, str) else f.type.__name__] for f in fields(cls)}
    return {name: kinds[name](v) for name, v in values.items()}


def ladder(cls, name: str, per_decade: int = 4) -> list[float]:
    """Values evenly spaced on a log scale (two significant digits) inside the field's declared range: what a
    select_slider offers for a learning rate."""
    low, high = bounds_of(cls, name).span
    steps = range(math.floor(per_decade * math.log10(low)), math.ceil(per_decade * math.log10(high)) + 1)
    return sorted(v for v in {float(f"{10 ** (k / per_decade):.2g}") for k in steps} if low <= v <= high)
