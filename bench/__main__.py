"""The engine against the tutorial's pipeline, side by side in one process, contenders alternated so drift cancels.
`python -m bench [--quick] [--only time-to-accuracy] [--skip-accurate] [--data SRC]` prints a table, then one JSON
object as the last line.

Sections: (1) tutorial vs engine on the same model, batch size and optimizer; (2) training time to reach the
tutorial's 2-epoch test accuracy; (3) accuracy of the fast presets given the tutorial's 2-epoch wall time;
(4) the dashboard's overhead over the CLI; (5) data decode, cached load and peak memory.
Time-to-accuracy tries budgets from small to large and reports the first that reaches the target (the metric's own
definition; a budget of 1.5 epochs is two passes over three quarters of the set, bench.flops.budget_run); presets are
fixed beforehand and never chosen by test accuracy here.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from bench import DATA_HELP, default_data
from bench.flops import budget_run, pflop
from bench.tutorial import TutorialTrainer, tutorial_datasets
from core.data import sources as data
from core.data.batches import steps_per_epoch
from core.jobs.registry import JobRegistry, run_blocking
from core.models.spec import build_model
from core.training.config import TrainConfig
from core.training.evaluate import accuracy_report, predict_classes
from core.training.presets import PRESETS as _PRESETS
from core.training.train import autocast_dtype, fit
from ui.figures import accuracy_figure, loss_figure

# Every contender learns from all 50,000 training images, as the tutorial's baseline does: the presets' calibration
# slice (TrainConfig.holdout) is switched off here so the comparison stays like for like.
PRESETS = {name: replace(p, config=replace(p.config, holdout=0)) for name, p in _PRESETS.items()}
SEED_SAME = replace(PRESETS["seed"].config, device="cpu", channels_last=False)  # batch 4, SGD 0.001, momentum 0.9


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": model, "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "python": platform.python_version()}


def test_accuracy(model, dataset, config: TrainConfig) -> float:
    predictions = predict_classes(model, dataset.test_x, "cpu", tta=config.tta,
                                  amp=autocast_dtype(config, torch.device("cpu")), channels_last=config.channels_last)
    return accuracy_report(predictions, dataset.test_y, dataset.classes).accuracy


def train_images(config: TrainConfig, dataset) -> int:
    n = len(dataset.train_x)
    return (min(config.limit_train, n) if config.limit_train else n) * config.epochs


# ---------------------------------------------------------------------------------------------------------------


def section_data(source: str, quick: bool) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not quick:
            started = time.perf_counter()
            data.load(source, Path(tmp))
            out["first_decode_seconds"] = time.perf_counter() - started
    data.load(source)  # make sure the project's cache holds it
    started = time.perf_counter()
    dataset = data.load(source)
    dataset.train_x.sum()  # touch every byte: a memory-mapped cache is not loaded until read
    out["cached_load_seconds"] = time.perf_counter() - started
    return out


def section_same_model(source, dataset, segments: int, steps: int) -> dict:
    """Tutorial pipeline vs engine: same seed model, batch 4, SGD lr 0.001 momentum 0.9; alternating segments."""
    trainset, _ = tutorial_datasets(source)
    torch.manual_seed(0)
    tutorial = TutorialTrainer(build_model(PRESETS["seed"].spec), trainset)
    engine_ips, curve = [], []
    for k in range(segments):
        tutorial.train_steps(steps)
        curve.append({"train_seconds": tutorial.seconds,
                      "test_accuracy": test_accuracy(tutorial.model, dataset, SEED_SAME)})  # untimed
        config = replace(SEED_SAME, epochs=1, limit_train=steps * 4, seed=k)
        engine_ips.append(fit(PRESETS["seed"].spec, dataset, config).images_per_second)
    tut_ips = tutorial.images / tutorial.seconds
    eng_ips = statistics.mean(engine_ips)
    return {"tutorial_images_per_second": tut_ips, "engine_images_per_second": eng_ips, "ratio": eng_ips / tut_ips,
            "tutorial_seconds": tutorial.seconds, "tutorial_images": tutorial.images,
            "tutorial_test_accuracy": curve[-1]["test_accuracy"], "tutorial_curve": curve, "_tutorial_model": tutorial}


def time_to_accuracy(name: str, spec, config: TrainConfig, dataset, target: float, budgets: list[float]) -> dict:
    """Smallest budget (in epochs of the training set) whose run reaches `target`."""
    tried = []
    for budget in budgets:
        run_config, limit = budget_run(config, budget, len(dataset.train_x))
        result = fit(spec, dataset, run_config)
        acc = result.epochs[-1].test_accuracy
        tried.append({"epochs": budget, "train_seconds": result.train_seconds, "test_accuracy": acc,
                      "images_per_second": result.images_per_second,
                      "train_pflop": pflop(spec, run_config, limit or len(dataset.train_x))})
        if acc >= target:
            return {"name": name, "reached": True, **tried[-1], "tried": tried}
    return {"name": name, "reached": False, **tried[-1], "tried": tried}


def curve_of(result) -> list[dict]:
    """Test accuracy against training seconds after every epoch of one run (evaluations excluded from the time)."""
    return [{"train_seconds": e.train_seconds, "test_accuracy": e.test_accuracy} for e in result.epochs]


def section_given_time(dataset, seconds: float, ips: float) -> dict:
    preset = PRESETS["fast"]
    epochs = max(1, int(seconds * ips / len(dataset.train_x)))
    config = replace(preset.config, epochs=epochs)
    result = fit(preset.spec, dataset, config)
    return {"name": "fast", "epochs": epochs, "train_seconds": result.train_seconds,
            "train_pflop": pflop(preset.spec, config, len(dataset.train_x)),
            "test_accuracy": result.epochs[-1].test_accuracy, "budget_seconds": seconds, "curve": curve_of(result)}


def page_poll(job) -> None:
    """What the Train page does each second while a run trains: snapshot, history, both charts, serialised."""
    snap = job.snapshot()
    history = snap.history()
    loss_figure(history.steps, history.events).to_json()
    if history.epochs:
        accuracy_figure(history.epochs).to_json()


def section_dashboard(spec, dataset, config: TrainConfig, rounds: int) -> dict:
    """The Train page's path (registry job + the page's 1 Hz poll) against the CLI's, in ABBA order so that
    neither always runs first; the median of the rounds' ratios is the figure."""
    rates: dict[str, list[float]] = {"dashboard": [], "cli": []}
    with tempfile.TemporaryDirectory() as tmp:
        registry = JobRegistry(runs_root=Path(tmp) / "dash")

        def dashboard(seed: int) -> float:
            job = registry.start(spec, dataset, replace(config, seed=seed))
            while not job.join(1.0):
                page_poll(job)
            return job.snapshot().steps[-1].images_per_second

        def cli(seed: int) -> float:
            snap = run_blocking(spec, dataset, replace(config, seed=seed), Path(tmp) / f"cli{seed}",
                                on_poll=lambda s: None)
            return snap.steps[-1].images_per_second

        for k in range(rounds):
            order = [("dashboard", dashboard), ("cli", cli)]
            for name, contender in order if k % 2 == 0 else order[::-1]:
                rates[name].append(contender(k))
    ratios = [d / c for d, c in zip(rates["dashboard"], rates["cli"])]
    return {"dashboard_images_per_second": statistics.median(rates["dashboard"]),
            "cli_images_per_second": statistics.median(rates["cli"]), "ratio": statistics.median(ratios),
            "ratios": ratios, "rounds": rates, "steps": config.epochs * steps_per_epoch(
                min(config.limit_train or len(dataset.train_x), len(dataset.train_x)), config.batch_size)}


# ---------------------------------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run under 2 minutes (CI)")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--only", choices=["time-to-accuracy"], help="the tutorial's run and the time to its "
                                                                      "accuracy only (sections 1 and 2; minutes)")
    parser.add_argument("--skip-accurate", action="store_true", help="leave out the accurate preset run (10 to 40 minutes on 2 cores)")
    args = parser.parse_args(argv)
    source = args.data or default_data()
    report: dict = {"machine": machine(), "data": source, "quick": args.quick}
    say = lambda text: print(text, flush=True)  # noqa: E731

    report["data_timing"] = section_data(source, args.quick)
    dataset = data.load(source)
    say(f"data: {report['data_timing']}")

    n = len(dataset.train_x)
    steps = min(1500 if args.quick else n // 4 // 2, max(1, n // 4))  # full: 4 half-epoch segments = 2 epochs
    same = section_same_model(source, dataset, 2 if args.quick else 4, steps)
    same.pop("_tutorial_model")
    report["same_model"] = same
    say(f"tutorial {same['tutorial_images_per_second']:.0f} img/s vs engine {same['engine_images_per_second']:.0f} "
        f"img/s: {same['ratio']:.2f}x; tutorial test accuracy {same['tutorial_test_accuracy']:.1%} after "
        f"{same['tutorial_images']:,} images in {same['tutorial_seconds']:.0f} s")

    target, tut_seconds = same["tutorial_test_accuracy"], same["tutorial_seconds"]
    fast_budgets = [0.25] if args.quick else [0.125, 0.1875, 0.25, 0.375, 0.5, 0.625, 0.75, 1, 2, 3]
    seed_budgets = [1] if args.quick else [1, 1.25, 1.5, 1.75, 2, 3, 4, 6, 8]
    seed_default = TrainConfig(device="cpu")  # the engine's defaults: batch 128, SGD 0.05 one-cycle
    report["time_to_accuracy"] = [
        time_to_accuracy("seed (engine defaults, batch 128)", PRESETS["seed"].spec, seed_default, dataset, target,
                         seed_budgets),
        time_to_accuracy("fast", PRESETS["fast"].spec, PRESETS["fast"].config, dataset, target, fast_budgets),
    ]
    seed_run = fit(PRESETS["seed"].spec, dataset, replace(seed_default, epochs=1 if args.quick else 8))
    report["seed_curve"] = curve_of(seed_run)  # one run, for the time-to-accuracy chart
    for row in report["time_to_accuracy"]:
        row["speedup_vs_tutorial"] = tut_seconds / row["train_seconds"] if row["reached"] else None
        say(f"{row['name']}: {row['test_accuracy']:.1%} after {row['train_seconds']:.1f} s "
            f"({row['images_per_second']:.0f} img/s, {row['train_pflop']:.4f} PFLOP), reached target {target:.1%}: "
            f"{row['reached']}")

    if args.only:
        print(json.dumps(report))
        return report
    if not args.quick:
        fast_ips = max(t["images_per_second"] for t in report["time_to_accuracy"][1]["tried"])
        report["given_tutorial_time"] = [section_given_time(dataset, tut_seconds, fast_ips)]
        if not args.skip_accurate:
            acc = PRESETS["accurate"]
            result = fit(acc.spec, dataset, acc.config)
            report["given_tutorial_time"].append({"name": "accurate", "epochs": acc.config.epochs,
                                                  "train_seconds": result.train_seconds,
                                                  "train_pflop": pflop(acc.spec, acc.config, n),
                                                  "test_accuracy": result.epochs[-1].test_accuracy,
                                                  "curve": curve_of(result)})
        for row in report["given_tutorial_time"]:
            say(f"{row['name']}: {row['test_accuracy']:.1%} in {row['train_seconds']:.0f} s ({row['epochs']} epochs)")

    dash_config = replace(PRESETS["fast"].config, epochs=1, limit_train=min(n, 5000 if args.quick else 25000))
    report["dashboard_overhead"] = section_dashboard(PRESETS["fast"].spec, dataset, dash_config, 1 if args.quick else 4)
    # the tutorial's settings (batch 4): thousands of steps, so the page's per-second cost shows if it grows
    small = replace(PRESETS["seed"].config, epochs=1 if args.quick else 2, limit_train=min(n, 2000) if args.quick else 0)
    report["dashboard_overhead_batch4"] = section_dashboard(PRESETS["seed"].spec, dataset, small, 1 if args.quick else 2)
    for key in ("dashboard_overhead", "dashboard_overhead_batch4"):
        row = report[key]
        say(f"{key}: dashboard {row['dashboard_images_per_second']:.0f} img/s vs CLI "
            f"{row['cli_images_per_second']:.0f} img/s over {row['steps']:,} steps: {row['ratio']:.1%} (median)")

    report["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["peak_memory_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    say(f"peak memory: {report['peak_memory_mb']:.0f} MB (DataLoader workers: {report['peak_memory_children_mb']:.0f} MB)")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
