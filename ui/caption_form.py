"""The Caption page's training form and its in-place explanations (widgets only; the config is checked in core)."""
from __future__ import annotations

import streamlit as st

from core.bounds import bounds_of
from core.caption.config import CaptionConfig
from core.caption.fitting import DEFAULT_FIT, FITS
from core.device import describe_device
from core.runs.folder import ListedRun
from ui.setting_widgets import ladder, setting_ui, typed_settings

SCRATCH = "train an encoder from scratch"


LRS = ladder(CaptionConfig, "lr")  # four per decade
_SHARE_LOW, _SHARE_HIGH = bounds_of(CaptionConfig, "encoder_lr").span
ENCODER_SHARES = [v for v in (0.0, 0.01, 0.03, 0.1, 0.3, 1.0) if _SHARE_LOW <= v <= _SHARE_HIGH]

# Each setting the form offers: its widget's key (tests and the browser walk find widgets by it) and kind. Label, help,
# range and step come from the setting's declaration on CaptionConfig.
WIDGETS = {
    "encoder_mode": ("cap_mode", "segmented"), "cell": ("cap_cell", "segmented"), "epochs": ("cap_epochs", "number"),
    "scenes_per_epoch": ("cap_scenes", "number"), "batch_size": ("cap_batch", "number"),
    "lr": ("cap_lr", "select_slider"), "hidden": ("cap_hidden", "number"), "seed": ("cap_seed", "number"),
    "reuse": ("cap_reuse", "slider"), "encoder_lr": ("cap_encoder_lr", "select_slider"),
    "adapt_scenes": ("cap_adapt_scenes", "number"), "label_smoothing": ("cap_smoothing", "slider"),
    "varied_share": ("cap_varied_share", "slider"), "picture": ("cap_picture", "segmented"),
    "scales": ("cap_scales", "segmented"),
}
ROWS = (("encoder_mode", "cell", "epochs", "scenes_per_epoch"), ("batch_size", "lr", "hidden", "seed"),
        ("reuse", "encoder_lr", "adapt_scenes", "label_smoothing"), ("varied_share", "picture", "scales"))
NARROWED = {"lr": {"options": sorted({*LRS, CaptionConfig().lr})}, "encoder_lr": {"options": ENCODER_SHARES}}


ENCODER_HELP = ("A trained classifier already knows what the ten classes look like: its conv layers make a ready "
                "encoder (transfer learning), so only the decoder must learn. The most accurate one is chosen first: "
                "at the same settings a classifier's encoder named 81.1% of the test scenes' objects in place, one "
                "trained from scratch 30.7% (docs/captioning.md).")


def caption_settings_ui(classifier_runs: list[ListedRun]) -> tuple[CaptionConfig, str | None, bool]:
    """The form; returns the config, the classifier run to take the encoder from (None: from scratch), and whether
    Start was pressed."""
    base = CaptionConfig()
    ranked = sorted(classifier_runs, key=lambda r: -(r.summary.test_accuracy or 0.0))  # the most accurate first
    labels = {r.id: f"conv layers of {r.id} ({r.summary.model}, "
                    f"{'' if r.summary.test_accuracy is None else format(r.summary.test_accuracy, '.1%')})"
              for r in ranked}
    with st.form("caption_settings", border=True):
        encoder = st.selectbox("Encoder", [*labels, SCRATCH], key="cap_encoder",
                               format_func=lambda k: labels.get(k, k), help=ENCODER_HELP)
        values = {}
        for row in ROWS:
            for column, name in zip(st.columns(len(row)), row):
                key, widget = WIDGETS[name]
                given = {"value": getattr(base, name), **NARROWED.get(name, {})}
                values[name] = setting_ui(column, CaptionConfig, name, key, widget, **given)
        st.caption(f"Trains on {describe_device(base.device)}.")
        start = st.form_submit_button("Start training the captioner", type="primary")
    chosen = {name: getattr(base, name) if v is None else v for name, v in values.items()}  # a segment unpicked
    config = CaptionConfig(**{**base.to_json(), **typed_settings(CaptionConfig, chosen)})
    return config, None if encoder == SCRATCH else encoder, start


_FIT = FITS[DEFAULT_FIT]
HOW_CAPTIONING_WORKS = (
    "- **Scenes**: canvases holding one to three CIFAR-10 pictures at known places; the captions are written from "
    "the layout by a small grammar, several phrasings each. Training scenes use training pictures only, test "
    "scenes test pictures only, and some class pairs (e.g. a frog left of a dog) never appear in training at all: "
    "the held-out score says whether the model composes or memorises. *Varied* scenes put one to three pictures at "
    "any size (16 px to the whole canvas) and any place on canvases of any shape, as photos come; their captions are "
    "read from the boxes' geometry, and a scene the grammar cannot say unambiguously is drawn again.\n"
    f"- **Scaling**: every picture, a training scene or your photo, reaches the encoder through one rule: shrunk to "
    f"fit {_FIT.long}x{_FIT.short} when larger, grown to a short side of {_FIT.smallest} when smaller, otherwise as "
    "it is.\n"
    "- **Encoder**: a CNN turns the picture into a grid of feature vectors, one per patch, each also told where it "
    "is, twice: as a share of the picture (for \"on the left\") and in pixels (so an object is as wide on every "
    "canvas, and two side by side are not taken for three); it can start from scratch or reuse a trained "
    "classifier's conv layers. A classifier trained on lone pictures sees them worse inside a scene (other sizes, "
    "any offset, neighbours around them); *adapt* first teaches it the scenes by naming each object from the grid "
    "cells over it. It also reads the picture at half size, so an object twice a CIFAR picture's size looks like "
    "one; attention picks cells of either size.\n"
    "- **Embedding**: every word is a learned vector, so words used alike end up near each other.\n"
    "- **Attention**: before each word the decoder scores every grid cell against its state; a softmax makes the "
    "scores weights summing to 1 and the weighted mean of the cells is what it reads. Those weights are the maps "
    "shown per word.\n"
    "- **Recurrent decoder**: an LSTM (or GRU) cell takes the last word and what attention read, updates its state, "
    "and scores every word of the vocabulary for the next one.\n"
    "- **Teacher forcing**: in training the true previous word is fed in, not the model's guess, so every word of "
    "every caption is a lesson from the first step.\n"
    "- **Beam search**: captioning keeps the few most likely partial sentences at each step instead of only the "
    "best word (greedy); width 1 is greedy. Scores are log-probabilities: closer to 0 is more likely."
)
