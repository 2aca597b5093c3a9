"""`train`: train a model from a preset, a spec file or a saved run, with any setting changed by its flag."""
from __future__ import annotations

import sys

from torch import nn

from core.cli._common import (
    DATA_HELP,
    add_json,
    load_spec,
    loading_progress,
    new_run_folder,
    progress_line,
    say,
)
from core.cli._flags import add_setting_flags, given
from core.data import sources as datasets
from core.device import resolve_device
from core.jobs.registry import JobSnapshot, run_blocking
from core.models.spec import ModelSpec
from core.runs.folder import load_model, open_run, resolve_cli_run
from core.training.config import ConfigError, TrainConfig, with_overrides
from core.training.presets import PRESETS
from core.training.status import RunStatus
from core.training.train import training_subset

PRESET_DEFAULT = "preset default otherwise"


def add_parser(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a model and save the run")
    train.add_argument("--data", help=DATA_HELP)
    train.add_argument("--model", default="seed", help=f"a preset ({', '.join(PRESETS)}) or a spec .json file "
                                                       "(default: seed)")
    add_setting_flags(train, TrainConfig, default=PRESET_DEFAULT)
    train.add_argument("--out", help="run folder to create (default runs/<time>-<model>-<id>)")
    train.add_argument("--resume", metavar="RUN", help="continue from a saved run's weights (its model and settings "
                                                       "are the defaults; the result is a new run)")
    add_json(train)
    train.set_defaults(handler=cmd_train)


def train_setup(args) -> tuple[ModelSpec, TrainConfig, nn.Module | None]:
    """The model, the checked config (the preset's or the resumed run's, with the flags applied) and, for --resume,
    the weights to start from."""
    initial = None
    if args.resume:
        previous = open_run(resolve_cli_run(args.resume))
        spec, config, initial = previous.spec, previous.config, load_model(previous)
    else:
        spec, config = load_spec(args.model)
    return spec, with_overrides(config, **given(args, TrainConfig)), initial


def cmd_train(args) -> dict:
    spec, config, initial = train_setup(args)
    device = resolve_device(config.device)
    dataset = datasets.load(args.data, progress=loading_progress(args))
    folder = new_run_folder(args.out, spec.name)
    n_train = len(training_subset(dataset, config)[1])
    say(args, f"training {spec.name} on {n_train:,} images ({dataset.source}) on {device}, run {folder}")
    shown = {"epochs": 0, "step": 0}
    tty = (sys.stderr if args.json else sys.stdout).isatty()

    def on_poll(snap: JobSnapshot) -> None:
        if snap.steps and snap.steps[-1].step != shown["step"]:
            say(args, ("\r" if tty else "") + progress_line(snap), end="" if tty else "\n")
            shown["step"] = snap.steps[-1].step
        for e in snap.epochs[shown["epochs"]:]:
            say(args, f"{chr(10) if tty else ''}epoch {e.epoch}: train loss {e.train_loss:.3f}, "
                      f"train accuracy {e.train_accuracy:.1%}, test accuracy {e.test_accuracy:.1%}")
        shown["epochs"] = len(snap.epochs)

    parent = resolve_cli_run(args.resume).name if args.resume else None
    snap = run_blocking(spec, dataset, config, folder, on_poll=on_poll, poll_s=1.0 if tty else 5.0, initial=initial,
                        parent=parent)
    on_poll(snap)
    if snap.status in (RunStatus.FAILED, RunStatus.DIVERGED):
        raise ConfigError(f"run {snap.status}: {snap.reason}")
    summary = open_run(folder).summary
    last = snap.epochs[-1] if snap.epochs else None
    say(args, f"{chr(10) if tty else ''}{snap.status}: test accuracy "
              f"{'n/a' if last is None else f'{last.test_accuracy:.1%}'}, saved in {folder}")
    return {
        "run": str(folder), "device": str(device), "epochs": len(snap.epochs),
        "train_seconds": summary.train_seconds, "images_per_second": summary.images_per_second,
        "test_accuracy": last.test_accuracy if last else None,
        "per_class_accuracy": last.per_class_accuracy if last else {},
        "status": snap.status,
    }
