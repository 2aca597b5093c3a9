"""The Train page's settings form and its in-place explanations (widgets only; the config is checked in core)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from core.bounds import GROUPS, bounds_of, declared, setting_of
from core.device import describe_device
from core.training.config import TrainConfig, nesterov_fits
from core.training.lr_find import LRFindConfig
from ui.setting_widgets import ladder, setting_ui, typed_settings
from ui.sweep_views import sweep_rows_ui

LRS = ladder(TrainConfig, "lr")  # four per decade
MUON_LRS = ladder(TrainConfig, "muon_lr")
DECAYS = (0.0, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, bounds_of(TrainConfig, "weight_decay").span[1])

# Each setting the form offers: its widget's key (after the preset's name; tests and the browser walk find widgets by
# it) and kind. Label, help, range, step and group come from the setting's declaration on TrainConfig.
WIDGETS = {
    "epochs": ("epochs", "number"), "batch_size": ("batch", "number"), "optimizer": ("opt", "select"),
    "lr": ("lr", "select_slider"), "momentum": ("mom", "slider"), "weight_decay": ("wd", "select_slider"),
    "schedule": ("sched", "select"), "label_smoothing": ("ls", "slider"), "crop_padding": ("crop", "slider"),
    "flip": ("flip", "toggle"), "limit_train": ("limit", "number"), "device": ("device", "select"),
    "crop_scale": ("rrc", "slider"), "color_jitter": ("jitter", "slider"), "erasing": ("erase", "slider"),
    "noise": ("noise", "slider"), "blur": ("blur", "slider"), "photo_share": ("share", "slider"),
    "holdout": ("holdout", "number"), "photo_apart": ("apart", "checkbox"), "consistency": ("consistency", "slider"),
    "patience": ("patience", "number"), "muon_lr": ("muon_lr", "select_slider"),
    "early_epochs": ("early_epochs", "number"), "early_size": ("early_size", "slider"),
}
# The sections under the essentials, each closed until asked for, in the order of the declarations' groups
SECTION_TITLES = {"optimizer": "Optimizer", "schedule": "Learning-rate schedule", "regularisation": "Regularisation",
                  "augmentation": "Augmentation", "data": "Training images, hold-out and early stopping",
                  "device": "Device"}
PER_ROW = 4


def sections() -> list[tuple[str, list[str]]]:
    """(group, its settings on the form) in GROUPS order, essentials first: the form's layout, from the declarations."""
    names = [f.name for f in declared(TrainConfig) if f.name in WIDGETS]
    grouped = [(g, [n for n in names if setting_of(TrainConfig, n).group == g]) for g in GROUPS]
    return [(g, members) for g, members in grouped if members]


_OFF = re.compile(r"[(;] ?(-?[\d.]+) = (?:off|all)\)")  # "(0 = off)", "(...; 0 = off)", "(0 = all)"


def is_off(name: str, value) -> bool:
    """Whether a setting is at the value its help declares as off ("(0 = off)"), or a switch that is off."""
    if isinstance(value, bool):
        return not value
    off = _OFF.search(setting_of(TrainConfig, name).help)
    return off is not None and float(off.group(1)) == float(value)


PHOTO = ("crop_scale", "color_jitter", "erasing", "noise", "blur")  # the photo augmentations
MATTERS_WHEN = {  # settings that only matter while others are set so: a title leaves them out otherwise
    "photo_share": lambda v: any(not is_off(n, v[n]) for n in PHOTO),
    "photo_apart": lambda v: any(not is_off(n, v[n]) for n in PHOTO),
    "muon_lr": lambda v: v["optimizer"] == "muon",
    "early_size": lambda v: v["early_epochs"] > 0,
}


def section_summary(names: list[str], values: dict) -> str:
    """One line on what a section is set to (`values`: every setting on the form): the settings that are on, or
    that everything in it is off."""
    shown = []
    for name in names:
        value = values[name]
        if is_off(name, value) or not MATTERS_WHEN.get(name, lambda v: True)(values):
            continue
        label = setting_of(TrainConfig, name).label
        shown.append(label if isinstance(value, bool) else f"{label} {value:g}" if isinstance(value, (int, float))
                     else f"{label} {value}")
    return " · ".join(shown) if shown else "all off"


@dataclass(frozen=True)
class FormResult:
    config: TrainConfig  # the form's settings, as they are now
    start: bool  # Start training was pressed
    find: bool  # the learning-rate finder was asked for (with these settings)
    sweep: bool  # Start a sweep was pressed
    sweep_rows: list[tuple[str, str]]  # the sweep's (setting, values text) rows filled in


def settings_ui(base: TrainConfig, key: str, n_train: int) -> FormResult:
    """The Train page's form, prefilled from a preset's config: the essentials, Start and the learning-rate finder
    first, every other group in a section that opens on request and says in its title what it is set to. Returns
    the config, whether Start was pressed and whether the finder was asked for (with the form's settings as they
    are now)."""
    chosen_lr = st.session_state.get(f"{key}_lr")  # the finder's suggestion, once applied, is one of the choices
    narrowed = {  # what the declaration cannot know: the choices offered, and the images there are
        "lr": {"options": sorted({*LRS, base.lr} | ({chosen_lr} if chosen_lr else set())),
               "value": None if chosen_lr else base.lr},
        "weight_decay": {"options": sorted({*DECAYS, base.weight_decay})},
        "muon_lr": {"options": sorted({*MUON_LRS, base.muon_lr})},
        "limit_train": {"high": n_train, "value": 0},
        "holdout": {"high": n_train // 5, "value": min(base.holdout, n_train // 5)},  # at most a fifth is held out
    }
    values = {}

    def row(where, names: list[str]) -> None:
        for start in range(0, len(names), PER_ROW):
            for column, name in zip(where.columns(PER_ROW), names[start:start + PER_ROW]):
                suffix, widget = WIDGETS[name]
                given = {"value": getattr(base, name), **narrowed.get(name, {})}
                values[name] = setting_ui(column, TrainConfig, name, f"{key}_{suffix}", widget, **given)

    with st.form(f"settings_{key}", border=True):
        (_, essentials), *rest = sections()
        row(st, essentials)
        b1, b2, _ = st.columns([1, 1, 2])
        start = b1.form_submit_button("Start training", type="primary")
        find = b2.form_submit_button("Find a learning rate", help="A learning-rate range test with these settings: "
                                     "a fresh copy of the model trains briefly while the rate grows.")
        start_at = {n: narrowed.get(n, {}).get("value") for n in WIDGETS}  # where a widget starts, where narrowed
        now = {n: st.session_state.get(f"{key}_{suffix}", getattr(base, n) if start_at[n] is None else start_at[n])
               for n, (suffix, _) in WIDGETS.items()}
        for group, names in rest:
            with st.expander(f"**{SECTION_TITLES[group]}** · {section_summary(names, now)}"):
                st.caption(GROUPS[group].capitalize() + ".")
                row(st, names)
                if group == "device":
                    st.caption(f"Device auto trains on {describe_device('auto')} here.")
        with st.expander("**Sweep: several runs at once** · two or three values for up to three settings"):
            st.caption("Every combination becomes a run with the settings above, except for these; the runs wait in "
                       "the queue like any other, and land in a comparison table below as they finish.")
            rows = sweep_rows_ui(key)
            sweep = st.form_submit_button("Start a sweep", key=f"{key}_sweep_go")
    values = typed_settings(TrainConfig, values)
    nesterov = base.nesterov and nesterov_fits(values["optimizer"], values["momentum"])  # leaving SGD leaves it
    config = TrainConfig(**{**base.to_json(), **values, "nesterov": nesterov})
    return FormResult(config, start, find, sweep, rows)


HOW_TRAINING_WORKS = (
    "- **Batches and epochs**: the images go through in batches; one pass over all of them is an epoch.\n"
    "- **Cross-entropy loss**: softmax turns the 10 scores into probabilities; the loss is −log of the "
    "probability given to the right class (0 when sure and right, large when sure and wrong).\n"
    "- **Backward pass**: `loss.backward()` computes how the loss changes with every weight.\n"
    "- **SGD with momentum**: each weight steps against its gradient, scaled by the learning rate; momentum "
    "keeps a running direction so steps don't zig-zag.\n"
    "- **Evaluation**: after each epoch the test images are scored in eval mode under `no_grad`.\n"
    "- **Checkpoints**: the weights are saved after every epoch (safetensors), so Stop or a crash keeps them.\n"
    "- **Time-lapse**: after every epoch a small frame (first-layer filters, where it looks in six test images) is "
    "kept in the run folder; scrub through them below the charts."
)

HOW_LR_FIND_WORKS = (
    f"A fresh copy of the model trains for {LRFindConfig().steps} batches while the learning rate grows "
    "exponentially, from far too small to far too large (Leslie Smith's range test, fastai's `lr_find`). At first the loss barely "
    "moves; then it falls; then the steps get too big and it explodes. The suggested rate is where the smoothed "
    "loss falls fastest, well before the explosion: a good peak rate for the schedule. The copy is thrown away."
)
