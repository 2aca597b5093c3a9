"""`python -m bench.robustness [--data SRC] [--presets fast robust] [--runs DIR ...] [--split test|holdout]`: clean
against corrupted accuracy, side by side, on the same corrupted images (core.data.corruptions, CIFAR-10-C style).

Trains each preset as it is (`--keep DIR` keeps the run folders), and each `--variant LABEL:PRESET:field=value,...`
(a preset with some training settings changed, to try settings side by side), `--seeds N` times each, or takes saved
runs, then scores every model on each corrupted set as it is made (`--device cuda` trains and scores on a GPU).
`--split test` (default) scores the test images; `--split holdout` scores the training images every run held out
(the presets' 2,000; a variant may hold out more, e.g. `holdout=10000`, for a steadier figure), so settings can be
chosen without looking at the test set. Scores are the
network alone (no test-time augmentation), clean and corrupted alike. Prints a table, then one JSON object as the
last line.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

from bench import DATA_HELP, default_data
from core.data import sources as data
from core.data.corruptions import CORRUPTIONS
from core.device import DEVICES, DeviceError, resolve_device
from core.insight.robustness import accuracy, measure
from core.jobs.registry import run_blocking
from core.runs.folder import load_model, open_run, read_summary
from core.training.config import ConfigError, TrainConfig
from core.training.presets import PRESETS
from core.training.train import holdout_split


def held_out(dataset, runs: list) -> tuple:
    """The training images every run held out. holdout_split's slices nest (a bigger holdout takes more of the same
    fixed order), so these are the smallest run's slice; a run that held out nothing is refused."""
    for run in runs:
        if not run.config.holdout or run.config.limit_train:
            raise SystemExit(f"{run.id} held out no training images (or trained on a --limit-train sample); --split "
                             "holdout needs runs trained with a holdout, as every preset is")
    idx = holdout_split(len(dataset.train_x), min(run.config.holdout for run in runs))[1]
    return dataset.train_x[idx], dataset.train_y[idx]


SETTINGS = {f.name for f in fields(TrainConfig)}


@dataclass(frozen=True)
class Variant:
    """A preset trained with some of its settings changed: `LABEL:PRESET:field=value,...` on the command line."""

    label: str
    preset: str
    changes: dict

    @classmethod
    def parse(cls, text: str) -> Variant:
        label, _, rest = text.partition(":")
        preset, _, settings = rest.partition(":")
        if not label or preset not in PRESETS:
            raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL:PRESET:field=value,... with PRESET one of "
                                             f"{', '.join(PRESETS)}")
        base, changes = PRESETS[preset].config, {}
        for item in filter(None, settings.split(",")):
            field, _, value = item.partition("=")
            if field not in SETTINGS:  # fields only: a property or method of the config is no setting
                raise argparse.ArgumentTypeError(f"{text!r}: {field!r} is not a training setting")
            kind = type(getattr(base, field))
            try:
                changes[field] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r}: {field} takes a {kind.__name__}, not {value!r}") from None
        try:
            replace(base, **changes).check()
        except ConfigError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
        return cls(label, preset, changes)


def train_presets(variants: list[Variant], dataset, keep: Path, quick: bool, device: str = "cpu",
                  seeds: int = 1) -> list[Path]:
    folders = []
    for variant in variants:
        preset = PRESETS[variant.preset]
        for seed in range(seeds):
            config = replace(preset.config, device=device, **variant.changes)
            config = replace(config, seed=config.seed + seed)
            if quick:
                config = replace(config, epochs=1, limit_train=0,
                                 holdout=min(config.holdout, len(dataset.train_x) // 5))
            name = variant.label if seeds == 1 else f"{variant.label}-seed{seed}"
            started = time.perf_counter()
            snap = run_blocking(preset.spec, dataset, config, keep / name, poll_s=0.5 if device != "cpu" else 2.0)
            print(f"trained {name}: {snap.status}, {time.perf_counter() - started:.0f} s", flush=True)
            folders.append(keep / name)
    return folders


def seed_means(models: dict, labels: list[str], seeds: int) -> dict:
    """Each variant's clean and corrupted accuracy averaged over its seeds' runs."""
    def mean(label, what):
        return sum(models[f"{label}-seed{s}"][what] for s in range(seeds)) / seeds
    return {label: {what: mean(label, what) for what in ("clean", "mean", "clean_all")} for label in labels}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.robustness", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--presets", nargs="*", default=["fast", "robust"], choices=list(PRESETS),
                        help="presets to train and compare (default: fast robust)")
    parser.add_argument("--runs", nargs="*", default=[], metavar="DIR", help="saved runs to compare as well")
    parser.add_argument("--split", choices=("test", "holdout"), default="test")
    parser.add_argument("--images", type=int, default=10_000, help="images per corrupted set: the first N of the split's "
                        "(default all); clean accuracy is also scored on all of them")
    parser.add_argument("--keep", metavar="DIR", help="keep the trained presets' run folders here")
    parser.add_argument("--variant", action="append", default=[], type=Variant.parse, metavar="LABEL:PRESET:K=V,...",
                        help="also train PRESET with these training settings changed (repeatable), e.g. "
                             "E2:robust:crop_scale=0.75")
    parser.add_argument("--seeds", type=int, default=1, help="train each preset and variant this many times, seeds "
                                                             "counting up from its own (default 1)")
    parser.add_argument("--device", choices=DEVICES, default="cpu", help="where to train and score (default cpu)")
    parser.add_argument("--quick", action="store_true", help="a smoke run (1 epoch, 200 images) for tests")
    args = parser.parse_args(argv)
    variants = [Variant(name, name, {}) for name in args.presets] + args.variant
    names = [v.label for v in variants]  # not `labels`: those are the images' classes below
    if len(set(names)) != len(names):
        parser.error(f"each preset and variant needs its own label: {', '.join(names)}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, not {args.seeds}")
    try:
        device = resolve_device(args.device).type
    except DeviceError as e:
        parser.error(str(e))
    source = args.data or default_data()
    dataset = data.load(source)
    with tempfile.TemporaryDirectory() as tmp:
        keep = Path(args.keep or tmp)
        folders = train_presets(variants, dataset, keep, args.quick, device, args.seeds)
        folders += [Path(r) for r in args.runs]
        runs = [open_run(folder) for folder in folders]
        if args.split == "holdout":
            all_images, all_labels = held_out(dataset, runs)
        else:
            all_images, all_labels = dataset.test_x, dataset.test_y
        n = 200 if args.quick else args.images
        images, labels = all_images[:n], all_labels[:n]
        models = {run.id: load_model(run) for run in runs}
        started = time.perf_counter()
        reports = measure(models, images, labels, device=device, progress=lambda done, total, what: print(
            f"\r{done}/{total} sets: {what}".ljust(60), end="", flush=True))
        print(f"\nscored {len(models)} model(s) on {len(images):,} images x {len(CORRUPTIONS) * 5} sets in "
              f"{time.perf_counter() - started:.0f} s")
        # clean accuracy on every image of the split as well (clean differences need the images): measured above
        # when the corrupted sets took them all, else one more pass
        clean_all = {key: reports[key].clean if len(images) == len(all_images)
                     else accuracy(model, all_images, all_labels, device) for key, model in models.items()}
        summaries = {run.id: read_summary(run.path) for run in runs}
    print(f"\n{'run':<36} {'clean':>7} {'corrupted':>10}  " + " ".join(f"{n[:8]:>8}" for n in CORRUPTIONS)
          + f"  clean, all {len(all_images):,}")
    for key, r in reports.items():
        print(f"{key:<36} {r.clean:>7.1%} {r.mean:>10.1%}  " + " ".join(f"{r.mean_of(n):>8.1%}" for n in CORRUPTIONS)
              + f"  {clean_all[key]:.2%}")
    report = {"data": source, "split": args.split, "images": len(images), "all_images": len(all_images), "tta": 0,
              "device": device, "variants": {v.label: {"preset": v.preset, "changes": v.changes} for v in variants},
              "models": {key: {"model": summaries[key].model, "train_seconds": summaries[key].train_seconds,
                               "clean_all": clean_all[key], **r.to_json()} for key, r in reports.items()}}
    if args.seeds > 1:
        report["seed_means"] = seed_means(report["models"], names, args.seeds)
        for label, m in report["seed_means"].items():
            print(f"{label:<36} {m['clean']:>7.1%} {m['mean']:>10.1%}  (mean of {args.seeds} seeds)")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
