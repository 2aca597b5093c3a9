"""Per-step wall time of the classifier's training loop, data and evaluation aside: `python -m bench.step_overhead
[--steps N] [--json]`. The `seed` preset at batch 4 is nearly all per-step overhead (a tiny model); the `fast` preset
at batch 512 is nearly all compute. Random uint8 images of CIFAR's shape: no dataset needed."""
import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from core.data.dataset import Dataset
from core.training.callbacks import Callbacks
from core.training.presets import PRESETS
from core.training.train import fit

WARMUP = {"seed": 20, "fast": 3}  # first steps left out: allocation, thread start-up, the first kernels


def cpu_name() -> str:
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                platform.processor())


def ms_per_step(preset: str, batch_size: int, steps: int) -> float:
    """Mean wall time between step reports after the warm-up: one epoch of exactly `steps` batches, on the CPU."""
    warmup = WARMUP[preset]
    n = (steps + warmup) * batch_size
    g = torch.Generator().manual_seed(0)
    data = Dataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                   torch.randint(0, 10, (n,), generator=g), torch.zeros(10, 3, 32, 32, dtype=torch.uint8),
                   torch.zeros(10, dtype=torch.int64), tuple(f"c{i}" for i in range(10)), "random")
    config = replace(PRESETS[preset].config, epochs=1, batch_size=batch_size, holdout=0, device="cpu")
    stamps = []
    fit(PRESETS[preset].spec, data, config, Callbacks(on_step=lambda report: stamps.append(time.perf_counter())))
    timed = stamps[warmup - 1:]  # from the end of the last warm-up step
    return 1000 * (timed[-1] - timed[0]) / (len(timed) - 1)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps of `seed` at batch 4 (`fast` runs a "
                                                                "fifteenth of them, at least 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args(argv)
    out = {"seed_b4_ms_per_step": ms_per_step("seed", 4, args.steps),
           "fast_b512_ms_per_step": ms_per_step("fast", 512, max(10, args.steps // 15)),
           "cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
