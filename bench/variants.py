"""`python -m bench.variants --preset fast --epochs 2 --seeds 1 VARIANT ...`: variants of a preset's recipe trained side
by side in one process, judged on held-out training images (the preset's holdout; never the test set), with test
accuracy, training seconds and training PFLOP beside them. A VARIANT is LABEL or LABEL:SETTING=VALUE,... on the
preset's config, e.g. `sgd` `muon:optimizer=muon,muon_lr=0.24` `small:early_epochs=1,early_size=26`.
Prints one line per run, then one JSON object as the last line."""
from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace

from bench import DATA_HELP, default_data
from bench.flops import pflop
from core.bounds import declared
from core.data import sources as data
from core.training.config import TrainConfig, with_overrides
from core.training.presets import PRESETS
from core.training.train import fit, training_subset


def parse_variant(text: str, base: TrainConfig) -> tuple[str, TrainConfig]:
    label, _, settings = text.partition(":")
    types = {f.name: f.type for f in declared(TrainConfig)}
    changes = {}
    for item in filter(None, settings.split(",")):
        name, _, value = item.partition("=")
        if name not in types:
            raise SystemExit(f"{name!r} is not a training setting")
        kind = types[name] if isinstance(types[name], str) else types[name].__name__
        changes[name] = {"int": int, "float": float, "str": str,
                         "bool": lambda v: v.lower() in ("1", "true", "on")}[kind](value)
    return label, with_overrides(base, **changes)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.variants", description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--preset", default="fast", choices=list(PRESETS))
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per variant (0, 1, ...)")
    parser.add_argument("--data", default=default_data(), help=DATA_HELP)
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    base = preset.config if args.epochs is None else replace(preset.config, epochs=args.epochs)
    if not base.holdout:
        raise SystemExit("the preset holds no training images out: variants are judged on held-out images only")
    dataset = data.load(args.data)
    variants = [parse_variant(v, base) for v in args.variants]
    rows = []
    for seed in range(args.seeds):
        for label, config in variants:  # variants interleaved: a slower moment of the machine hits all of them
            config = replace(config, seed=seed)
            result = fit(preset.spec, dataset, config)
            last = result.epochs[-1]
            rows.append({"variant": label, "seed": seed, "holdout_accuracy": last.holdout_accuracy,
                         "test_accuracy": last.test_accuracy, "train_seconds": result.train_seconds,
                         "train_pflop": pflop(preset.spec, config, len(training_subset(dataset, config)[1])),
                         "status": str(result.status)})
            r = rows[-1]
            print(f"{label:<12} seed {seed}: held out {r['holdout_accuracy']:.2%}, test {r['test_accuracy']:.2%}, "
                  f"{r['train_seconds']:.0f} s, {r['train_pflop']:.4f} PFLOP", flush=True)
    summary = {}
    for label, _ in variants:
        mine = [r for r in rows if r["variant"] == label]
        summary[label] = {k: statistics.mean(r[k] for r in mine)
                          for k in ("holdout_accuracy", "test_accuracy", "train_seconds", "train_pflop")}
    print(json.dumps({"preset": args.preset, "data": args.data, "seeds": args.seeds, "runs": rows,
                      "mean": summary}))


if __name__ == "__main__":
    main()
