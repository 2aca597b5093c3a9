"""The Caption page's training form and its in-place explanations (widgets only; the config is checked in core)."""
from __future__ import annotations

import streamlit as st

from core.bounds import bounds_of, choices_of
from core.caption.config import CaptionConfig
from core.device import describe_device
from core.runs.folder import ListedRun

SCRATCH = "train an encoder from scratch"


def _limits(name: str) -> tuple:
    return bounds_of(CaptionConfig, name).span


_LR_LOW, _LR_HIGH = _limits("lr")
LRS = sorted(v for v in {float(f"{10 ** (k / 4):.2g}") for k in range(-24, 4)} if _LR_LOW <= v <= _LR_HIGH)
_SHARE_LOW, _SHARE_HIGH = _limits("encoder_lr")
ENCODER_SHARES = [v for v in (0.0, 0.01, 0.03, 0.1, 0.3, 1.0) if _SHARE_LOW <= v <= _SHARE_HIGH]


def caption_settings_ui(classifier_runs: list[ListedRun]) -> tuple[CaptionConfig, str | None, bool]:
    """The form; returns the config, the classifier run to take the encoder from (None: from scratch), and whether
    Start was pressed."""
    base = CaptionConfig()
    labels = {r.id: f"conv layers of {r.id} ({r.summary.model}, "
                    f"{'' if r.summary.test_accuracy is None else format(r.summary.test_accuracy, '.1%')})"
              for r in classifier_runs}
    with st.form("caption_settings", border=True):
        encoder = st.selectbox("Encoder", [SCRATCH, *labels], key="cap_encoder",
                               format_func=lambda k: labels.get(k, k),
                               help="A trained classifier already knows what the ten classes look like: its conv "
                                    "layers make a ready encoder (transfer learning), so only the decoder must learn.")
        c1, c2, c3, c4 = st.columns(4)
        mode = c1.segmented_control("Pretrained encoder", choices_of(CaptionConfig, "encoder_mode"),
                                    default=base.encoder_mode, key="cap_mode",
                                    help="frozen: keep the classifier's weights (fast); adapt: first teach them the "
                                         "scenes (each object named from the grid cells over it, with the "
                                         "classifier's own head), then keep them; finetune: train them with the "
                                         "decoder.")
        cell = c2.segmented_control("Recurrent cell", choices_of(CaptionConfig, "cell"), default=base.cell,
                                    key="cap_cell", help="LSTM keeps a separate memory cell; GRU is a lighter cousin.")
        epochs = c3.number_input("Epochs", *_limits("epochs"), base.epochs, key="cap_epochs",
                                 help="Each epoch draws fresh scenes, then captions the fixed test scenes.")
        scenes = c4.number_input("Scenes per epoch", *_limits("scenes_per_epoch"), base.scenes_per_epoch, 640,
                                 key="cap_scenes")
        d1, d2, d3, d4 = st.columns(4)
        batch = d1.number_input("Batch size", *_limits("batch_size"), base.batch_size, key="cap_batch")
        lr = d2.select_slider("Learning rate", sorted({*LRS, base.lr}), base.lr, key="cap_lr",
                              help="Adam's peak step size; it warms up, then falls to zero (one-cycle).")
        hidden = d3.number_input("Decoder state size", *_limits("hidden"), base.hidden, 32, key="cap_hidden")
        seed = d4.number_input("Seed", *_limits("seed"), base.seed, key="cap_seed")
        r1, r2, r3, r4 = st.columns(4)
        reuse = r1.slider("Uses of each scene (pretrained encoder, frozen or adapted)", *_limits("reuse"), base.reuse,
                          key="cap_reuse", help="A frozen encoder's features are computed once per scene and serve "
                                                "this many captions of it: more decoder steps per second. Ignored "
                                                "otherwise.")
        share = r2.select_slider("Encoder learning rate, share of the decoder's (finetune)", ENCODER_SHARES,
                                 base.encoder_lr, key="cap_encoder_lr",
                                 help="Fine-tuning a pretrained encoder with the decoder's full step tends to wreck "
                                      "what it learned; a tenth is gentler. Ignored otherwise.")
        adapt = r3.number_input("Scenes to adapt the encoder on (adapt)", *_limits("adapt_scenes"), base.adapt_scenes,
                                640, key="cap_adapt_scenes",
                                help="Before the decoder trains, the classifier learns to name the objects of this "
                                     "many training scenes from its grid. Ignored otherwise.")
        smoothing = r4.slider("Label smoothing", *_limits("label_smoothing"), float(base.label_smoothing), 0.05,
                              key="cap_smoothing",
                              help="This share of each target word's weight is spread over the whole vocabulary, "
                                   "so the decoder is never taught to be certain of a word (the loss then reads "
                                   "higher). 0 is plain cross-entropy, the default: 0.1 named no more test objects "
                                   "at the other defaults here.")
        st.caption(f"Trains on {describe_device(base.device)}.")
        start = st.form_submit_button("Start training the captioner", type="primary")
    config = CaptionConfig(**{**base.to_json(), "epochs": int(epochs), "scenes_per_epoch": int(scenes),
                              "batch_size": int(batch), "lr": float(lr), "cell": cell or base.cell,
                              "hidden": int(hidden), "encoder_mode": mode or base.encoder_mode, "seed": int(seed),
                              "reuse": int(reuse), "encoder_lr": float(share), "adapt_scenes": int(adapt),
                              "label_smoothing": float(smoothing)})
    return config, None if encoder == SCRATCH else encoder, start


HOW_CAPTIONING_WORKS = (
    "- **Scenes**: canvases holding one to three CIFAR-10 pictures at known places; the captions are written from "
    "the layout by a small grammar, several phrasings each. Training scenes use training pictures only, test "
    "scenes test pictures only, and some class pairs (e.g. a frog left of a dog) never appear in training at all: "
    "the held-out score says whether the model composes or memorises.\n"
    "- **Encoder**: a CNN turns the picture into a grid of feature vectors, one per patch, each also told where it "
    "is, twice: as a share of the picture (for \"on the left\") and in pixels (so an object is as wide on every "
    "canvas, and two side by side are not taken for three); it can start from scratch or reuse a trained "
    "classifier's conv layers. A classifier trained on lone pictures sees them worse inside a scene (other sizes, "
    "any offset, neighbours around them); *adapt* first teaches it the scenes by naming each object from the grid "
    "cells over it.\n"
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
