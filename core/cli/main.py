"""`python -m core`: train, evaluate, predict, models. --json puts one JSON object on stdout's last line."""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import fields, replace
from pathlib import Path

import torch
from torch import nn

from core.bounds import bounds_of, choices_of
from core.caption.attention import attention_strip
from core.caption.job import encoder_source, train_captioner_blocking
from core.caption.model import MAX_BEAM, beam_search, fit_picture, prepare
from core.caption.runs import load_captioner, open_captioner
from core.caption.train import CaptionConfig
from core.data import sources as datasets
from core.data.corruptions import CORRUPTIONS, SEVERITIES
from core.data.images import ImageError, decode_image, to_model_input
from core.data.sources import DataError
from core.device import DeviceError, resolve_device
from core.errors import UserError
from core.insight.calibrate import report as calibration_report
from core.insight.calibrate import run_temperature
from core.insight.describe import describe, draw_boxes
from core.insight.explain import explain_picture, overlay
from core.insight.neighbours import MAX_K, neighbours, training_features
from core.insight.robustness import run_robustness
from core.jobs.lr_find import LRFinderJob
from core.jobs.registry import BusyError, JobSnapshot, run_blocking
from core.models.codec import spec_from_json
from core.models.layers import ModelSpec, SpecError, summarize
from core.runs.folder import (
    RUNS_ROOT,
    RunError,
    delete_run,
    list_runs,
    load_model,
    new_run_id,
    open_run,
    resolve_cli_run,
)
from core.training.config import ConfigError, TrainConfig, with_overrides
from core.training.evaluate import metrics, predict_image, predict_logits
from core.training.history import adapt_event
from core.training.lr_find import LRFindConfig
from core.training.presets import PRESETS, get_preset
from core.training.recipe_card import recipe_card
from core.training.status import RunStatus
from core.training.train import training_subset

USER_ERRORS = (DataError, SpecError, ConfigError, RunError, ImageError, DeviceError, BusyError, KeyError, OSError)


# TrainConfig settings that take one of a fixed set of values, each offered as --NAME with core's own list
CHOICE_FLAGS = {
    "optimizer": "the optimizer",
    "schedule": "how the learning rate moves through the run",
    "device": "where to train (auto picks a GPU when there is one)",
    "precision": "number format (auto: bf16 where the hardware runs it natively, else fp32)",
}
AUGMENT_FLAGS = {  # augmentation settings beyond the preset's, as --crop-scale and so on
    "crop_scale": "random resized crop: the smallest share of the area a crop keeps (1 = off)",
    "color_jitter": "brightness, contrast and saturation scaled by 1 +- this (0 = off)",
    "erasing": "the chance an image loses a random rectangle (0 = off)",
    "noise": "Gaussian noise, each image from none to this sigma in pixel units (0 = off)",
    "blur": "Gaussian blur, each image from none to this sigma in pixels (0 = off)",
    "photo_share": "the share of each batch the five above touch (1 = all)",
    "consistency": "weight of a Jensen-Shannon loss pulling the answers for each image those touch and for its plain "
                   "view, trained beside it, together (AugMix; 0 = off)",
}


# CaptionConfig settings offered as --NAME flags (underscores as dashes); type, range and choices come from the field
CAPTION_FLAGS = {
    "epochs": "passes of freshly drawn scenes",
    "scenes_per_epoch": "training scenes per epoch",
    "batch_size": "scenes per step",
    "lr": "Adam's peak learning rate",
    "cell": "the decoder's recurrent cell",
    "hidden": "the decoder's state size",
    "label_smoothing": "share of each target word's weight spread over the vocabulary (0 = plain cross-entropy)",
    "encoder_mode": "with --encoder-run: keep its weights (frozen), teach them the scenes' objects first and then "
                    "keep them (adapt), or train them with the decoder (finetune)",
    "adapt_scenes": "with --encoder-mode adapt: training scenes the encoder learns the objects of before the decoder "
                    "trains",
    "encoder_lr": "with --encoder-mode finetune: the encoder's learning rate as a share of the decoder's",
    "reuse": "with a frozen or adapted --encoder-run: uses of each drawn scene (its features computed once, a "
             "fresh caption each time)",
    "test_scenes": "fixed test scenes captioned and scored after every epoch",
    "held_out_scenes": "fixed test scenes of class pairs never seen together in training, scored apart",
    "seed": "seeds the weights and the scenes: the same seed gives the same run",
    "device": "where to train (auto picks a GPU when there is one)",
}

# LRFindConfig settings offered as --NAME flags (underscores as dashes); ranges and defaults come from the field
LR_FIND_FLAGS = {
    "steps": "training steps, one batch each",
    "start_lr": "the first learning rate",
    "end_lr": "the last learning rate (the sweep stops early once the loss explodes)",
}

DEBUG_HELP = "on an error, also print its traceback (for maintainers; users get the one error line either way)"
JSON_HELP = "print one JSON object as the last line (progress goes to stderr)"


class CliError(UserError):
    """A command line that asks for something impossible; the message says what instead."""


def _ranged_help(name: str, what: str) -> str:
    b = bounds_of(TrainConfig, name)
    return f"{what}, {b.low:g} to {b.high:g} (preset default otherwise)"


def _caption_flag(name: str, what: str) -> dict:
    """argparse options for a CaptionConfig setting, from what its field declares."""
    default = getattr(CaptionConfig(), name)
    meta = next(f for f in fields(CaptionConfig) if f.name == name).metadata
    if "choices" in meta:
        return {"choices": meta["choices"], "help": f"{what} (default {default})"}
    b = meta["bounds"]
    return {"type": int if b.whole else float, "help": f"{what}, {b.low:g} to {b.high:g} (default {default:g})"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other error
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="CIFAR-10 Studio's engine from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a model and save the run")
    train.add_argument("--data", help="cifar10 (default, or $CIFAR10_DATA), a folder, or an archive")
    train.add_argument("--model", default="seed", help=f"a preset ({', '.join(PRESETS)}) or a spec .json file "
                                                       "(default: seed)")
    train.add_argument("--epochs", type=int, help=_ranged_help("epochs", "passes over the training set"))
    train.add_argument("--batch-size", type=int, help=_ranged_help("batch_size", "images per step"))
    train.add_argument("--lr", type=float, help=_ranged_help("lr", "peak learning rate"))
    for name, what in CHOICE_FLAGS.items():
        train.add_argument(f"--{name}", choices=choices_of(TrainConfig, name), help=f"{what} (preset default otherwise)")
    for name, what in AUGMENT_FLAGS.items():
        train.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float, help=_ranged_help(name, what))
    train.add_argument("--photo-apart", action=argparse.BooleanOptionalAction,
                       help="each of the five photo augmentations draws its own --photo-share of the batch, so most "
                            "touched images show one change (--no-photo-apart: one share gets all five)")
    train.add_argument("--limit-train", type=int, help="train on this many images only, for quick runs (0 = all)")
    train.add_argument("--holdout", type=int, help=_ranged_help("holdout", "training images kept out of training to "
                                                                           "calibrate confidence on (at most a fifth)"))
    train.add_argument("--seed", type=int, help="seeds initialisation, shuffling, augmentation and dropout: the same "
                                                "seed gives the same run")
    train.add_argument("--out", help="run folder to create (default runs/<time>-<model>-<id>)")
    train.add_argument("--resume", metavar="RUN", help="continue from a saved run's weights (its model and settings "
                                                       "are the defaults; the result is a new run)")
    train.add_argument("--json", action="store_true", help=JSON_HELP)

    evaluate = sub.add_parser("evaluate", help="test accuracy, per class, and the confusion matrix of a run")
    evaluate.add_argument("--run", required=True, help="a run folder")
    evaluate.add_argument("--data", help="data source (default: the one the run trained on)")
    evaluate.add_argument("--corruptions", action="store_true", help=f"also score {len(CORRUPTIONS)} corruptions at 5 "
                          "severities (CIFAR-10-C style, made from the test set; the network alone, no TTA; about 7 "
                          "minutes for a fast run on 2 CPU cores, then kept in the run folder)")
    evaluate.add_argument("--corruption-images", type=int, default=10_000, metavar="N",
                          help="with --corruptions: score the first N test images (default all)")
    evaluate.add_argument("--json", action="store_true", help=JSON_HELP)

    predict = sub.add_parser("predict", help="classify image files with a run's model")
    predict.add_argument("--run", required=True, help="a run folder")
    predict.add_argument("images", nargs="+", help="image files (PNG, JPEG, WebP, BMP, GIF)")
    predict.add_argument("--json", action="store_true", help=JSON_HELP)

    explain = sub.add_parser("explain", help="a heat map of where the model looked (Grad-CAM)")
    explain.add_argument("--run", required=True, help="a run folder")
    explain.add_argument("image", help="an image file")
    explain.add_argument("--out", required=True, help="PNG file for the heat map over the image")
    explain.add_argument("--target", help="explain this class instead of the predicted one")
    explain.add_argument("--json", action="store_true", help=JSON_HELP)

    describe = sub.add_parser("describe", help="find the objects the model knows in a photo and say where they are")
    describe.add_argument("--run", required=True, help="a run folder")
    describe.add_argument("image", help="an image file")
    describe.add_argument("--out", help="PNG file with the boxes drawn on the photo")
    describe.add_argument("--json", action="store_true", help=JSON_HELP)

    runs_cmd = sub.add_parser("runs", help="list saved runs, or delete one")
    runs_cmd.add_argument("--delete", metavar="RUN", help="delete this run folder")
    runs_cmd.add_argument("--json", action="store_true", help=JSON_HELP)

    caption_train = sub.add_parser("caption-train", help="train a captioner (CNN encoder + attention RNN decoder) on "
                                                         "scenes composed from CIFAR-10")
    caption_train.add_argument("--data", help="cifar10 (default, or $CIFAR10_DATA), a folder, or an archive")
    caption_train.add_argument("--encoder-run", metavar="DIR", help="a classifier run whose conv layers become the "
                                                                    "encoder (default: an encoder from scratch)")
    for name, what in CAPTION_FLAGS.items():
        caption_train.add_argument(f"--{name.replace('_', '-')}", dest=name, **_caption_flag(name, what))
    caption_train.add_argument("--out", help="run folder to create (default runs/<time>-captioner-<id>)")
    caption_train.add_argument("--json", action="store_true", help=JSON_HELP)

    caption = sub.add_parser("caption", help="say in a sentence what a captioner run sees in image files, word by "
                                             "word with where it looked")
    caption.add_argument("--run", required=True, help="a captioner run folder")
    caption.add_argument("images", nargs="+", help="image files (PNG, JPEG, WebP, BMP, GIF)")
    caption.add_argument("--beam", type=int, default=3, help=f"beam width, 1 (greedy) to {MAX_BEAM} (default 3)")
    caption.add_argument("--attention-out", metavar="DIR", help="save one PNG per image: the picture and each word's "
                                                                "attention map")
    caption.add_argument("--json", action="store_true", help=JSON_HELP)

    lr_find = sub.add_parser("lr-find", help="learning-rate range test: the loss against an exponentially growing "
                                             "learning rate, and a suggested peak rate")
    lr_find.add_argument("--data", help="cifar10 (default, or $CIFAR10_DATA), a folder, or an archive")
    lr_find.add_argument("--model", default="seed", help=f"a preset ({', '.join(PRESETS)}) or a spec .json file "
                                                         "(default: seed); its batch size, optimizer and augmentation")
    lr_find.add_argument("--batch-size", type=int, help=_ranged_help("batch_size", "images per step"))
    lr_find.add_argument("--optimizer", choices=choices_of(TrainConfig, "optimizer"), help="the optimizer (preset "
                                                                                           "default otherwise)")
    for name, what in LR_FIND_FLAGS.items():
        b = bounds_of(LRFindConfig, name)
        lr_find.add_argument(f"--{name.replace('_', '-')}", type=int if b.whole else float,
                             help=f"{what}, {b.low:g} to {b.high:g} (default {getattr(LRFindConfig(), name):g})")
    lr_find.add_argument("--device", choices=choices_of(TrainConfig, "device"), help="where to run it")
    lr_find.add_argument("--json", action="store_true", help=JSON_HELP)

    near = sub.add_parser("neighbours", help="the training images most like an image, in the network's own features")
    near.add_argument("--run", required=True, help="a run folder")
    near.add_argument("image", help="an image file")
    near.add_argument("--k", type=int, default=8, help=f"how many, 1 to {MAX_K} (default 8)")
    near.add_argument("--data", help="data source (default: the one the run trained on)")
    near.add_argument("--json", action="store_true", help=JSON_HELP)

    models = sub.add_parser("models", help="the presets with parameters and multiply-accumulates")
    models.add_argument("--json", action="store_true", help=JSON_HELP)
    models.add_argument("--recipe", metavar="NAME", help="a preset's whole recipe, every number with its unit")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    for command in sub.choices.values():  # before or after the command, as people type it
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv  # known even when parsing itself fails
    try:
        args = build_parser().parse_args(argv)
        result = COMMANDS[args.command](args)
    except (CliError, *USER_ERRORS) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return _fail(f"error: {message}", debug)
    except KeyboardInterrupt:
        return _fail("error: interrupted", debug)
    except Exception as exc:  # an engine bug still gets one line; --debug adds the traceback
        hint = "" if debug else " (run again with --debug for the traceback)"
        return _fail(f"error: unexpected {type(exc).__name__}: {exc}{hint}", debug)
    if args.json:
        print(json.dumps(result))
    return 0


def _fail(line: str, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(line.replace("\n", " "), file=sys.stderr)  # the last line, always one
    return 2


# ----------------------------------------------------------------------------------------------------------------


def load_spec(model: str) -> tuple[ModelSpec, TrainConfig]:
    if model in PRESETS:
        preset = get_preset(model)
        return preset.spec, preset.config
    path = Path(model)
    if path.suffix.lower() != ".json":
        raise SpecError(f"--model {model!r} is neither a preset ({', '.join(PRESETS)}) nor a .json spec file")
    if not path.is_file():
        raise SpecError(f"model spec file {model} does not exist")
    return spec_from_json(path.read_text()), TrainConfig()


def _say(args, text: str, end: str = "\n") -> None:
    stream = sys.stderr if args.json else sys.stdout
    print(text, end=end, file=stream, flush=True)


def _progress_line(snap: JobSnapshot) -> str:
    s = snap.steps[-1]
    width = 24
    filled = int(width * snap.progress)
    eta = f"{int(s.eta // 60)}:{int(s.eta % 60):02d}"
    phase = f"epoch {s.epoch}" if s.epoch else "adapting the encoder"  # a captioner's adapt phase is epoch 0
    return (f"[{'#' * filled}{'.' * (width - filled)}] {phase} step {s.step}/{s.total_steps} "
            f"loss {s.loss:.3f} | {s.images_per_second:,.0f} img/s | ETA {eta}")


def _new_run_folder(out: str | None, name: str) -> Path:
    """--out, or a fresh folder in the runs folder; a folder holding anything is refused, so nothing is overwritten."""
    folder = Path(out) if out else RUNS_ROOT / new_run_id(name)
    if folder.exists() and any(folder.iterdir()):
        raise RunError(f"{folder} already exists and is not empty; choose another --out so nothing saved is overwritten")
    return folder


def train_setup(args) -> tuple[ModelSpec, TrainConfig, nn.Module | None]:
    """The model, the checked config (the preset's or the resumed run's, with the flags applied) and, for --resume,
    the weights to start from."""
    initial = None
    if args.resume:
        previous = open_run(resolve_cli_run(args.resume))
        spec, config, initial = previous.spec, previous.config, load_model(previous)
    else:
        spec, config = load_spec(args.model)
    config = with_overrides(config, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            limit_train=args.limit_train, holdout=args.holdout, seed=args.seed,
                            **{name: getattr(args, name) for name in (*CHOICE_FLAGS, *AUGMENT_FLAGS)},
                            photo_apart=args.photo_apart)
    return spec, config, initial


def cmd_train(args) -> dict:
    spec, config, initial = train_setup(args)
    device = resolve_device(config.device)
    dataset = datasets.load(args.data, progress=lambda done, total, msg: _say(args, f"\r{msg}: {done}/{total}", end=""))
    folder = _new_run_folder(args.out, spec.name)
    n_train = len(training_subset(dataset, config)[1])
    _say(args, f"training {spec.name} on {n_train:,} images ({dataset.source}) on {device}, run {folder}")
    shown = {"epochs": 0, "step": 0}
    tty = (sys.stderr if args.json else sys.stdout).isatty()

    def on_poll(snap: JobSnapshot) -> None:
        if snap.steps and snap.steps[-1].step != shown["step"]:
            _say(args, ("\r" if tty else "") + _progress_line(snap), end="" if tty else "\n")
            shown["step"] = snap.steps[-1].step
        for e in snap.epochs[shown["epochs"]:]:
            _say(args, f"{chr(10) if tty else ''}epoch {e.epoch}: train loss {e.train_loss:.3f}, "
                       f"train accuracy {e.train_accuracy:.1%}, test accuracy {e.test_accuracy:.1%}")
        shown["epochs"] = len(snap.epochs)

    snap = run_blocking(spec, dataset, config, folder, on_poll=on_poll, poll_s=1.0 if tty else 5.0, initial=initial)
    on_poll(snap)
    if snap.status in (RunStatus.FAILED, RunStatus.DIVERGED):
        raise ConfigError(f"run {snap.status}: {snap.reason}")
    summary = open_run(folder).summary
    last = snap.epochs[-1] if snap.epochs else None
    _say(args, f"{chr(10) if tty else ''}{snap.status}: test accuracy "
               f"{'n/a' if last is None else f'{last.test_accuracy:.1%}'}, saved in {folder}")
    return {
        "run": str(folder), "device": str(device), "epochs": len(snap.epochs),
        "train_seconds": summary.train_seconds, "images_per_second": summary.images_per_second,
        "test_accuracy": last.test_accuracy if last else None,
        "per_class_accuracy": last.per_class_accuracy if last else {},
        "status": snap.status,
    }


def cmd_evaluate(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model = load_model(run)
    dataset = datasets.load(args.data or run.summary.source or None)
    if tuple(dataset.classes) != run.classes:
        raise DataError(f"the data's classes ({', '.join(dataset.classes)}) differ from the run's ({', '.join(run.classes)})")
    logits = predict_logits(model, dataset.test_x, tta=run.config.tta)
    m = metrics(torch.softmax(logits, 1), dataset.test_y, run.classes)
    calibration = calibration_report(logits, dataset.test_y, *run_temperature(run, model, dataset))
    if not args.json:
        print(f"test accuracy {m.accuracy:.1%} on {len(dataset.test_y):,} images")
        for c in run.classes:
            print(f"  {c:<12} accuracy {m.per_class_accuracy[c]:6.1%}  precision {m.precision[c]:6.1%}")
        print(_calibration_line(calibration))
    extra = calibration.to_json()
    out = {"test_accuracy": m.accuracy, "per_class_accuracy": m.per_class_accuracy, "confusion": m.confusion,
           "precision": m.precision, "recall": m.recall, "abstain": extra.pop("abstain"), "calibration": extra}
    if args.corruptions:
        out.update(_corruptions(args, run, model, dataset))
    return out


def _corruptions(args, run, model, dataset) -> dict:
    if args.corruption_images < 1:
        raise CliError(f"--corruption-images must be at least 1, got {args.corruption_images}")
    r = run_robustness(run, model, dataset, args.corruption_images,
                       progress=lambda done, total, what: _say(args, f"\r{done}/{total} corrupted sets: {what}".ljust(60),
                                                               end=""))
    if not args.json:
        print(f"\ncorrupted accuracy {r.mean:.1%} (mean of {len(r.accuracy)} corruptions x 5 severities) against "
              f"{r.clean:.1%} clean, both without TTA, on {r.images:,} test images")
        for name, c in CORRUPTIONS.items():
            print(f"  {c.label:<14} " + "  ".join(f"{r.accuracy[name][s]:6.1%}" for s in SEVERITIES))
    return {"corruption_accuracy": r.to_json()["accuracy"], "corruption_mean": r.mean, "corruption_clean": r.clean,
            "corruption_images": r.images}


def _calibration_line(c) -> str:
    if not c.fitted_on:
        return (f"calibration: none (the run trained on every training image; train with --holdout N to keep some "
                f"back); expected calibration error on the test set {c.ece_before:.1%}")
    return (f"calibration: temperature {c.temperature:.2f} fitted on {c.fitted_on:,} held-out training images; "
            f"expected calibration error on the test set {c.ece_before:.1%} -> {c.ece_after:.1%}")


def cmd_predict(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model = load_model(run)
    out = []
    for name in args.images:
        p = predict_image(model, run.classes, _picture(name), tta=run.config.tta)
        out.append({"image": name, "top": [{"class": c, "probability": v} for c, v in p.top], "caption": p.caption})
        if not args.json:
            print(f"{name}: {p.caption}")
    return {"predictions": out}


def _picture(name: str):
    path = Path(name)
    if not path.is_file():
        raise ImageError(f"{name} does not exist")
    return decode_image(path.read_bytes(), name)


def _out_path(name: str) -> Path:
    out = Path(name)
    if out.suffix.lower() != ".png":
        raise ImageError(f"--out {name} must end in .png")
    if not out.parent.is_dir():
        raise ImageError(f"--out {name}: folder {out.parent} does not exist")
    return out


def cmd_explain(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model, picture, out = load_model(run), _picture(args.image), _out_path(args.out)
    if args.target and args.target not in run.classes:
        raise KeyError(f"--target {args.target!r} is not one of the run's classes ({', '.join(run.classes)})")
    e = explain_picture(model, run.classes, picture, args.target)
    overlay(picture, e.heatmap).save(out)
    if not args.json:
        print(f"predicted {e.predicted}; heat map of the evidence for {e.target} ({e.method}) saved to {out}")
    return {"predicted": e.predicted, "target": e.target, "heatmap": str(out)}


def cmd_describe(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model, picture = load_model(run), _picture(args.image)
    d = describe(model, run.classes, picture)
    if args.out:
        draw_boxes(picture, d.regions).save(_out_path(args.out))
    if not args.json:
        print(d.sentence)
    return {"regions": [{"class": r.cls, "probability": r.probability, "box": list(r.box)} for r in d.regions],
            "sentence": d.sentence}


def cmd_runs(args) -> dict:
    if args.delete:
        delete_run(resolve_cli_run(args.delete, kind=None))
        if not args.json:
            print(f"deleted {args.delete}")
        return {"deleted": args.delete}
    listed = list_runs()
    if not args.json:
        for r in listed:
            acc = r.summary.test_accuracy
            print(f"{r.id:<48} {r.summary.status:<12} {'' if acc is None else f'{acc:.1%}'}")
    return {"runs": [{"id": r.id, "status": r.summary.status, "test_accuracy": r.summary.test_accuracy,
                      "model": r.summary.model, "kind": r.kind} for r in listed]}


def cmd_caption_train(args) -> dict:
    settings = {name: getattr(args, name) for name in CAPTION_FLAGS if getattr(args, name) is not None}
    config = replace(CaptionConfig(), **settings).check()
    device = resolve_device(config.device)
    encoder_run = resolve_cli_run(args.encoder_run) if args.encoder_run else None  # refused before any loading
    dataset = datasets.load(args.data, progress=lambda done, total, msg: _say(args, f"\r{msg}: {done}/{total}", end=""))
    encoder = encoder_source(encoder_run, dataset.classes)
    folder = _new_run_folder(args.out, "captioner")
    _say(args, f"training a captioner (encoder: {encoder.label}, {config.encoder_mode if encoder.state else 'trained'}"
               f") on scenes from {dataset.source} on {device}, run {folder}")
    shown = {"epochs": 0, "step": 0, "adapted": False}

    def on_poll(snap: JobSnapshot) -> None:
        if snap.steps and snap.steps[-1].step != shown["step"]:
            _say(args, _progress_line(snap).replace("img/s", "scenes/s"))
            shown["step"] = snap.steps[-1].step
        adapted = adapt_event(snap.events)
        if adapted is not None and not shown["adapted"]:
            _say(args, adapted.reason)
            shown["adapted"] = True
        for e in snap.epochs[shown["epochs"]:]:
            _say(args, f"epoch {e.epoch}: loss {e.train_loss:.3f}, exact {e.exact:.1%}, objects right "
                       f"{e.recall:.1%}, BLEU-4 {e.bleu:.3f}, held-out pairs exact {e.held_out_exact:.1%}; "
                       f"e.g. \"{e.samples[0]['sentence'] if e.samples else ''}\"")
        shown["epochs"] = len(snap.epochs)

    snap = train_captioner_blocking(dataset, config, encoder, folder, on_poll=on_poll, poll_s=5.0)
    on_poll(snap)
    if snap.status in (RunStatus.FAILED, RunStatus.DIVERGED):
        raise ConfigError(f"run {snap.status}: {snap.reason}")
    summary = open_captioner(folder).summary
    last = snap.epochs[-1] if snap.epochs else None
    _say(args, f"{snap.status}: exact {'n/a' if last is None else f'{last.exact:.1%}'}, saved in {folder}")
    return {"run": str(folder), "device": str(device), "encoder": encoder.label, "epochs": len(snap.epochs),
            "train_seconds": summary.train_seconds, "scenes_per_second": summary.images_per_second,
            "exact": last.exact if last else None, "object_precision": last.precision if last else None,
            "object_recall": last.recall if last else None, "bleu": last.bleu if last else None,
            "held_out_exact": last.held_out_exact if last else None, "status": snap.status}


def cmd_caption(args) -> dict:
    if not 1 <= args.beam <= MAX_BEAM:
        raise CliError(f"--beam must be from 1 to {MAX_BEAM}, got {args.beam}")
    run = open_captioner(resolve_cli_run(args.run, kind="captioner"))
    model = load_captioner(run)
    out_dir = Path(args.attention_out) if args.attention_out else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    pictures = [(name, _picture(name)) for name in args.images]  # every file checked before any work
    out = []
    for i, (name, picture) in enumerate(pictures):
        beams = beam_search(model, prepare(picture), args.beam)
        best = beams[0]
        item = {"image": name, "sentence": best.sentence, "words": best.words,
                "beams": [{"sentence": b.sentence, "score": b.score} for b in beams]}
        if out_dir is not None:
            path = out_dir / f"{i:02d}-{Path(name).stem[:40]}-attention.png"
            attention_strip(fit_picture(picture), best).save(path)
            item["attention"] = str(path)
        out.append(item)
        if not args.json:
            print(f"{name}: {best.sentence}")
    return {"captions": out}


def cmd_lr_find(args) -> dict:
    spec, config = load_spec(args.model)
    config = with_overrides(config, batch_size=args.batch_size, optimizer=args.optimizer, device=args.device)
    settings = LRFindConfig(**{n: getattr(args, n) for n in LR_FIND_FLAGS if getattr(args, n) is not None}).check()
    dataset = datasets.load(args.data, progress=lambda done, total, msg: _say(args, f"\r{msg}: {done}/{total}", end=""))
    _say(args, f"learning-rate range test of {spec.name}: {settings.steps} steps of {config.batch_size} images, "
               f"lr {settings.start_lr:g} -> {settings.end_lr:g}")
    job = LRFinderJob(spec, dataset, config, settings).start()
    try:
        while not job.join(1.0):
            r = job.snapshot()
            if r.lrs:
                _say(args, f"step {len(r.lrs)}/{settings.steps}  lr {r.lrs[-1]:.3g}  loss {r.losses[-1]:.3f}")
    except KeyboardInterrupt:
        job.stop()
        job.join()
    result = job.snapshot()
    if result.status == RunStatus.FAILED:
        raise ConfigError(f"the range test failed: {result.reason}")
    if not args.json:
        print(f"suggested learning rate: {result.suggested:.3g}" if result.suggested else
              "no suggestion: the loss did not fall over the range; try a wider range or more steps")
    return result.to_json()


def cmd_neighbours(args) -> dict:
    if not 1 <= args.k <= MAX_K:
        raise CliError(f"--k must be from 1 to {MAX_K}, got {args.k}")
    run = open_run(resolve_cli_run(args.run))
    model, picture = load_model(run), _picture(args.image)
    dataset = datasets.load(args.data or run.summary.source or None)
    if tuple(dataset.classes) != run.classes:
        raise DataError(f"the data's classes ({', '.join(dataset.classes)}) differ from the run's ({', '.join(run.classes)})")
    features = training_features(run, model, dataset,
                                 progress=lambda done, total: _say(args, f"\rtraining features: {done}/{total}", end=""))
    started = time.perf_counter()
    found = neighbours(model, features, dataset, to_model_input(picture), args.k)
    seconds = time.perf_counter() - started
    if not args.json:
        print()
        for n in found:
            print(f"training image #{n.index:<6} {n.label:<12} similarity {n.similarity:.3f}")
    return {"image": args.image, "neighbours": [vars(n) for n in found], "query_seconds": seconds}


def cmd_models(args) -> dict:
    if args.recipe:
        card = recipe_card(args.recipe)
        if not args.json:
            print(card.to_text(), end="")
        return {"recipe": card.to_json()}
    rows = []
    for preset in PRESETS.values():
        s = summarize(preset.spec)
        rows.append({"name": preset.name, "parameters": s.parameters, "macs": s.macs, "description": preset.description})
        if not args.json:
            print(f"{preset.name:<14} {s.parameters:>10,} params {s.macs:>14,} MACs  {preset.description}")
    return {"models": rows}


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "models": cmd_models,
            "explain": cmd_explain, "describe": cmd_describe, "runs": cmd_runs, "caption-train": cmd_caption_train,
            "caption": cmd_caption, "lr-find": cmd_lr_find, "neighbours": cmd_neighbours}
