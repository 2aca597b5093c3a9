"""The Train page's settings form and its in-place explanations (widgets only; the config is checked in core)."""
from __future__ import annotations

import streamlit as st

from core.bounds import bounds_of
from core.device import describe_device
from core.training.config import TrainConfig, nesterov_fits
from core.training.lr_find import LRFindConfig
from ui.setting_widgets import ladder, setting_ui, typed_settings

LRS = ladder(TrainConfig, "lr")  # four per decade
DECAYS = (0.0, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, bounds_of(TrainConfig, "weight_decay").span[1])

# Each setting the form offers: its widget's key (after the preset's name; tests and the browser walk find widgets by
# it) and kind. Label, help, range and step come from the setting's declaration on TrainConfig.
WIDGETS = {
    "epochs": ("epochs", "number"), "batch_size": ("batch", "number"), "optimizer": ("opt", "select"),
    "lr": ("lr", "select_slider"), "momentum": ("mom", "slider"), "weight_decay": ("wd", "select_slider"),
    "schedule": ("sched", "select"), "label_smoothing": ("ls", "slider"), "crop_padding": ("crop", "slider"),
    "flip": ("flip", "toggle"), "limit_train": ("limit", "number"), "device": ("device", "select"),
    "crop_scale": ("rrc", "slider"), "color_jitter": ("jitter", "slider"), "erasing": ("erase", "slider"),
    "noise": ("noise", "slider"), "blur": ("blur", "slider"), "photo_share": ("share", "slider"),
    "holdout": ("holdout", "number"), "photo_apart": ("apart", "checkbox"), "consistency": ("consistency", "slider"),
}
ROWS = (  # the form's rows: the settings side by side, and the columns' relative widths
    (("epochs", "batch_size", "optimizer", "lr"), 4),
    (("momentum", "weight_decay", "schedule", "label_smoothing"), 4),
    (("crop_padding", "flip", "limit_train", "device"), 4),
    (("crop_scale", "color_jitter", "erasing", "noise", "blur", "photo_share"), 6),
    (("holdout", "photo_apart", "consistency"), [2, 1.5, 2]),
)


def settings_ui(base: TrainConfig, key: str, n_train: int) -> tuple[TrainConfig, bool, bool]:
    """The Train page's form, prefilled from a preset's config; returns the config, whether Start was pressed and
    whether the learning-rate finder was asked for (it runs with the form's settings as they are now)."""
    chosen_lr = st.session_state.get(f"{key}_lr")  # the finder's suggestion, once applied, is one of the choices
    narrowed = {  # what the declaration cannot know: the choices offered, and the images there are
        "lr": {"options": sorted({*LRS, base.lr} | ({chosen_lr} if chosen_lr else set())),
               "value": None if chosen_lr else base.lr},
        "weight_decay": {"options": sorted({*DECAYS, base.weight_decay})},
        "limit_train": {"high": n_train, "value": 0},
        "holdout": {"high": n_train // 5, "value": min(base.holdout, n_train // 5)},  # at most a fifth is held out
    }
    values = {}
    with st.form(f"settings_{key}", border=True):
        for names, widths in ROWS:
            for column, name in zip(st.columns(widths), names):
                suffix, widget = WIDGETS[name]
                given = {"value": getattr(base, name), **narrowed.get(name, {})}
                values[name] = setting_ui(column, TrainConfig, name, f"{key}_{suffix}", widget, **given)
        st.caption(f"Device auto trains on {describe_device('auto')} here.")  # what the declaration cannot know
        b1, b2, _ = st.columns([1, 1, 2])
        start = b1.form_submit_button("Start training", type="primary")
        find = b2.form_submit_button("Find a learning rate", help="A learning-rate range test with these settings: "
                                     "a fresh copy of the model trains briefly while the rate grows.")
    values = typed_settings(TrainConfig, values)
    nesterov = base.nesterov and nesterov_fits(values["optimizer"], values["momentum"])  # leaving SGD leaves it
    return TrainConfig(**{**base.to_json(), **values, "nesterov": nesterov}), start, find


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
