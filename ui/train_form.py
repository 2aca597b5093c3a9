"""The Train page's settings form and its in-place explanations (widgets only; the config is checked in core)."""
from __future__ import annotations

import streamlit as st

from core.bounds import bounds_of
from core.device import DEVICES, describe_device
from core.training.config import OPTIMIZERS, SCHEDULES, TrainConfig
from core.training.lr_find import LRFindConfig


def _limits(name: str) -> tuple:
    return bounds_of(TrainConfig, name).span


_LR_LOW, _LR_HIGH = _limits("lr")
LRS = sorted(v for v in {float(f"{10 ** (k / 4):.2g}") for k in range(-28, 9)} if _LR_LOW <= v <= _LR_HIGH)  # 4/decade


def settings_ui(base: TrainConfig, key: str, n_train: int) -> tuple[TrainConfig, bool, bool]:
    """The Train page's form, prefilled from a preset's config; returns the config, whether Start was pressed and
    whether the learning-rate finder was asked for (it runs with the form's settings as they are now)."""
    lr_key = f"{key}_lr"
    chosen_lr = st.session_state.get(lr_key)  # the finder's suggestion, once applied, is one of the choices
    with st.form(f"settings_{key}", border=True):
        c1, c2, c3, c4 = st.columns(4)
        epochs = c1.number_input("Epochs", *_limits("epochs"), base.epochs, key=f"{key}_epochs",
                                 help="One epoch = every training image seen once.")
        batch = c2.number_input("Batch size", *_limits("batch_size"), base.batch_size, key=f"{key}_batch",
                                help="Images per step; the gradient is averaged over them.")
        optimizer = c3.selectbox("Optimizer", OPTIMIZERS, OPTIMIZERS.index(base.optimizer), key=f"{key}_opt",
                                 help="SGD follows the gradient; momentum keeps a running direction, like a ball rolling.")
        lr = c4.select_slider("Learning rate", sorted({*LRS, base.lr} | ({chosen_lr} if chosen_lr else set())),
                              **({} if chosen_lr else {"value": base.lr}), key=lr_key,
                              help="Step size. Too high and the loss explodes; too low and it crawls. "
                                   "'Find a learning rate' measures a good one for this model.")
        d1, d2, d3, d4 = st.columns(4)
        momentum = d1.slider("Momentum", *_limits("momentum"), float(base.momentum), 0.01, key=f"{key}_mom")
        decays = {0.0, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, _limits("weight_decay")[1], base.weight_decay}
        wd = d2.select_slider("Weight decay", sorted(decays), base.weight_decay,
                              key=f"{key}_wd", help="Pulls weights towards zero; helps the net generalise.")
        schedule = d3.selectbox("Schedule", SCHEDULES, SCHEDULES.index(base.schedule), key=f"{key}_sched",
                                help="How the learning rate moves through the run.")
        smoothing = d4.slider("Label smoothing", *_limits("label_smoothing"), float(base.label_smoothing), 0.05,
                              key=f"{key}_ls",
                              help="Cross-entropy against 'mostly right' targets instead of 100% sure ones.")
        e1, e2, e3, e4 = st.columns(4)
        crop = e1.slider("Random crop padding", *_limits("crop_padding"), base.crop_padding, key=f"{key}_crop")
        flip = e2.toggle("Random flips", base.flip, key=f"{key}_flip")
        limit = e3.number_input("Training images (0 = all)", 0, n_train, 0, 1000, key=f"{key}_limit")
        device = e4.selectbox("Device", DEVICES, DEVICES.index(base.device), key=f"{key}_device",
                              help=f"auto = {describe_device('auto')}")
        g1, g2, g3, g4, g5, g6 = st.columns(6)
        crop_scale = g1.slider("Random resized crop: smallest area kept", *_limits("crop_scale"),
                               float(base.crop_scale), 0.01, key=f"{key}_rrc",
                               help="Each training image is cropped to a random part of it (down to this share of its "
                                    "area) and stretched back, so the net sees objects closer up and off-centre, as "
                                    "photos frame them. 1 = off.")
        jitter = g2.slider("Colour jitter", *_limits("color_jitter"), float(base.color_jitter), 0.05,
                           key=f"{key}_jitter", help="Brightness, contrast and saturation each scaled by a random "
                                                     "factor within 1 ± this: other cameras and light. 0 = off.")
        erasing = g3.slider("Random erasing", *_limits("erasing"), float(base.erasing), 0.05, key=f"{key}_erase",
                            help="The chance that an image loses a random rectangle to grey, so the net learns to use "
                                 "every part of an object. 0 = off.")
        noise = g4.slider("Noise", *_limits("noise"), float(base.noise), 0.01, key=f"{key}_noise",
                          help="Gaussian noise, each image from none to this strength (1 = black to white): the grain "
                               "of photos taken in dim light. 0 = off.")
        blur = g5.slider("Blur", *_limits("blur"), float(base.blur), 0.1, key=f"{key}_blur",
                         help="Gaussian blur, each image from none to this sigma in pixels: photos out of focus, "
                              "shaken or enlarged from a small crop. 0 = off.")
        share = g6.slider("Share of images they touch", *_limits("photo_share"), float(base.photo_share), 0.05,
                          key=f"{key}_share", help="The five augmentations to the left change only this share of each "
                                                   "batch; the rest stay as the test images look, which keeps clean "
                                                   "accuracy up in a short run.")
        f1, f2, f3 = st.columns([2, 1.5, 2])
        apart = f2.checkbox("Each on its own share", bool(base.photo_apart), key=f"{key}_apart",
                            help="Each of the five augmentations draws its own share of the batch, so most changed "
                                 "images show one change, as a blurred or grainy photo does, instead of all five at "
                                 "once. Off: one share gets all five.")
        consistency = f3.slider("Consistency between views (AugMix)", *_limits("consistency"),
                                float(base.consistency), 1.0, key=f"{key}_consistency",
                                help="Each image the augmentations above change is also trained as it was, beside "
                                     "it, and this weight pulls the net's two answers together (AugMix's "
                                     "Jensen-Shannon loss), so it learns that a photo's blur, grain and light do not "
                                     "change what it shows. Costs that share more images per step. Keep it "
                                     "small in a short run: at 1 `robust` lost no clean accuracy, at AugMix's 12 it "
                                     "learned far more slowly (13 points lower). 0 = off.")
        holdout = f1.number_input("Held out for calibration", 0, min(_limits("holdout")[1], n_train // 5),
                                  min(base.holdout, n_train // 5), 500, key=f"{key}_holdout",
                                  help="Training images kept out of training. The Evaluate page calibrates the run's "
                                       "confidence on them (never on the test set), so it can say 'not sure' honestly.")
        b1, b2, _ = st.columns([1, 1, 2])
        start = b1.form_submit_button("Start training", type="primary")
        find = b2.form_submit_button("Find a learning rate", help="A learning-rate range test with these settings: "
                                     "a fresh copy of the model trains briefly while the rate grows.")
    config = TrainConfig(**{**base.to_json(), "epochs": int(epochs), "batch_size": int(batch), "optimizer": optimizer,
                            "lr": float(lr), "momentum": float(momentum), "weight_decay": float(wd),
                            "schedule": schedule, "label_smoothing": float(smoothing), "crop_padding": int(crop),
                            "flip": bool(flip), "crop_scale": float(crop_scale), "color_jitter": float(jitter),
                            "erasing": float(erasing), "noise": float(noise), "blur": float(blur),
                            "photo_share": float(share), "photo_apart": bool(apart),
                            "consistency": float(consistency),
                            "limit_train": int(limit), "device": device, "holdout": int(holdout),
                            "nesterov": base.nesterov and optimizer == "sgd" and momentum > 0})
    return config, start, find


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
