"""Benchmarks: `python -m bench [--quick]` (CPU, against the tutorial), `python -m bench.captioning` and
`python -m bench.gpu_speedrun`."""
from __future__ import annotations

import os
from pathlib import Path

from core.data import sources as data

# The official format with the official pixels, rebuilt offline (machines without a route to the dataset host keep
# it beside the checkout). Every accuracy the project reports is measured on it.
OFFICIAL_COPY = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "cifar-10-python-rebuilt.tar.gz"
DATA_HELP = "data source (default: CIFAR10_DATA, else the official-format copy in ../shared/datasets/ when present, " \
            "else the official download)"


def default_data() -> str:
    """What a benchmark measures when --data is not given: CIFAR10_DATA when set, else the offline copy of the official
    release when it is beside the checkout, else the official download."""
    if os.environ.get("CIFAR10_DATA"):
        return os.environ["CIFAR10_DATA"]
    return str(OFFICIAL_COPY) if OFFICIAL_COPY.is_file() else data.default_source()
