"""The gpu-speedrun preset, n seeds from scratch, timed with the GPU synchronized: `python -m bench.gpu_speedrun`.

Prints one line per run and, last, one JSON object. Training time excludes the per-epoch evaluation the engine does
for its charts; the final test accuracy uses the preset's own test-time augmentation.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import replace

import torch

from bench import DATA_HELP, default_data
from core.data import sources as data
from core.training.evaluate import accuracy_report, predict_classes
from core.training.presets import PRESETS
from core.training.train import autocast_dtype, fit


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_speedrun")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (its compile time is the "
                                                                   "warm-up, reported apart)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("error: no CUDA GPU here; the gpu-speedrun benchmark needs one")
    torch.backends.cudnn.benchmark = True
    started = time.perf_counter()
    dataset = data.load(args.data or default_data())
    load_s = time.perf_counter() - started
    preset = PRESETS["gpu-speedrun"]
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "python": platform.python_version(),
           "data": dataset.source, "load_seconds": load_s, "arms": {}}
    arms = [("compiled", True)] if args.compile else [("eager", False)]
    for name, compiled in arms:
        config = replace(preset.config, device="cuda", compile=compiled, holdout=0)  # all 50,000, as airbench
        t0 = time.perf_counter()
        fit(preset.spec, dataset, replace(config, seed=999))  # warm-up: cudnn autotuning (and compilation)
        warmup_s = time.perf_counter() - t0
        results = []
        for seed in range(args.runs):
            result = fit(preset.spec, dataset, replace(config, seed=seed))
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            final = accuracy_report(
                predict_classes(result.model, dataset.test_x, "cuda", tta=config.tta,
                                amp=autocast_dtype(config, torch.device("cuda"))),
                dataset.test_y, dataset.classes)
            torch.cuda.synchronize()
            tta_s = time.perf_counter() - t1
            results.append({"seed": seed, "train_seconds": result.train_seconds, "tta_eval_seconds": tta_s,
                            "test_accuracy": final.accuracy})
            print(f"{name} seed {seed}: {result.train_seconds:.2f} s training, {tta_s:.2f} s TTA evaluation, "
                  f"{final.accuracy:.2%}", flush=True)
        accs = [r["test_accuracy"] for r in results]
        secs = [r["train_seconds"] for r in results]
        out["arms"][name] = {"warmup_seconds": warmup_s, "runs": results, "mean_accuracy": statistics.mean(accs),
                             "std_accuracy": statistics.pstdev(accs), "mean_train_seconds": statistics.mean(secs),
                             "max_train_seconds": max(secs)}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
