"""`python -m bench.flops --result FILE`: the training FLOPs of each contender of a `python -m bench` run, counted by
torch's FLOP counter (core/training/flops.py) for the recipe and the images each contender trained on, beside the
accuracy it reached: accuracy per PFLOP. The counts are exact for the recipe; the accuracies are the run's own.
Prints a table, then one JSON object as the last line."""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

from core.training.config import TrainConfig
from core.training.flops import training_flops, training_flops_per_image
from core.training.presets import ACCURATE_SGD, PRESETS

CIFAR10_TRAIN = 50_000


def pflop(spec, config: TrainConfig, images_per_epoch: int) -> float:
    return training_flops(spec, config, images_per_epoch) / 1e15


def budget_run(config: TrainConfig, budget: float, n: int) -> tuple[TrainConfig, int]:
    """A time-to-accuracy budget of `budget` epochs of n images as whole passes: ceil(budget) epochs over an equal
    part of the set each (0.25: one pass over a quarter; 1.5: two passes over three quarters), the schedule spanning
    them all. Returns the run's config and its images per epoch (0: all n)."""
    epochs = max(1, math.ceil(budget))
    limit = 0 if budget == epochs else int(n * budget / epochs)
    return replace(config, epochs=epochs, limit_train=limit), limit


def budget_config(config: TrainConfig, budget: float) -> tuple[TrainConfig, int]:
    """A budget of a bench report as its run had it, with the images of each of its epochs."""
    run_config, limit = budget_run(config, budget, CIFAR10_TRAIN)
    return run_config, limit or CIFAR10_TRAIN


def contenders(report: dict) -> list[dict]:
    """Each contender of a bench report: name, test accuracy and training PFLOP."""
    same = report["same_model"]
    tutorial = PRESETS["tutorial"].spec
    rows = [{"name": "tutorial pipeline", "test_accuracy": same["tutorial_test_accuracy"],
             "train_pflop": training_flops_per_image(tutorial) * same["tutorial_images"] / 1e15}]
    # Reports that record no train_pflop predate issue 36, when `accurate` was ACCURATE_SGD's network
    bases = {"seed (engine defaults, batch 128)": (PRESETS["seed"].spec, TrainConfig(device="cpu")),
             "fast": (PRESETS["fast"].spec, PRESETS["fast"].config),
             "accurate": (ACCURATE_SGD.spec("accurate"), ACCURATE_SGD.config())}
    for row in report["time_to_accuracy"] + report.get("given_tutorial_time", []):
        recorded = row.get("train_pflop")
        if recorded is None:
            spec, config = bases[row["name"]]
            recorded = pflop(spec, *budget_config(config, row["epochs"]))
        rows.append({"name": f"{row['name']}, {row['epochs']:g} epochs", "test_accuracy": row["test_accuracy"],
                     "train_pflop": recorded})
    for row in rows:
        row["accuracy_per_pflop"] = row["test_accuracy"] * 100 / row["train_pflop"]
    return rows


def read_report(path: Path) -> dict:
    """A bench report: a .json file, or the last line of a bench run's printed output."""
    text = path.read_text().strip()
    return json.loads(text if path.suffix == ".json" else text.splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flops", description=__doc__.splitlines()[0])
    parser.add_argument("--result", required=True, type=Path, help="a python -m bench output (.json, or .txt whose "
                                                                      "last line is its JSON)")
    rows = contenders(read_report(parser.parse_args(argv).result))
    for r in rows:
        print(f"{r['name']:<45} {r['test_accuracy']:6.1%} {r['train_pflop']:9.4f} PFLOP "
              f"{r['accuracy_per_pflop']:12,.0f} % per PFLOP")
    print(json.dumps({"contenders": rows}))


if __name__ == "__main__":
    main()
