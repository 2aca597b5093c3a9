"""Compare the gpu-speedrun preset's precisions side by side on one GPU: `python -m bench.gpu_precision`."""
import json
import sys
from dataclasses import replace

import torch

from bench.gpu_speedrun import main as speedrun
from core.training import presets

if __name__ == "__main__":
    out = {}
    for precision in sys.argv[2:] or ["auto", "fp16"]:
        base = presets.PRESETS["gpu-speedrun"]
        presets.PRESETS["gpu-speedrun"] = replace(base, config=replace(base.config, precision=precision))
        out[precision] = speedrun(["--data", sys.argv[1], "--runs", "5"])["arms"]["eager"]
        presets.PRESETS["gpu-speedrun"] = base
        torch.cuda.empty_cache()
    print(json.dumps({k: {"mean_train_seconds": v["mean_train_seconds"], "mean_accuracy": v["mean_accuracy"]}
                      for k, v in out.items()}))
