"""Images/s of a run trained from the Train page in a real browser (Chromium), against the same run from the CLI.

    python tools/measure_train_page.py [--data SRC] [--preset seed] [--rounds 1]

The page is watched the whole time (its live view redraws every 2 s), which is what costs a dashboard run speed.
Prints one JSON line: each round's images/s for both, and the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.browser import ARGS, CHROMIUM, choose, dashboard_server  # noqa: E402  (the browser walk's own helpers)
from core.runs.folder import read_summary  # noqa: E402


def page_run(data: str, preset: str, tmp: Path) -> float:
    with dashboard_server({"CIFAR10_DATA": data, "CIFAR10_RUNS": str(tmp / "runs")}) as base:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{base}/train")
            choose(page, "train_model", preset)
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("Finished: test accuracy").wait_for(timeout=3_600_000)
            browser.close()
    [run] = list((tmp / "runs").iterdir())
    return read_summary(run).images_per_second


def cli_run(data: str, preset: str, tmp: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "core", "train", "--data", data, "--model", preset, "--device", "cpu",
                          "--out", str(tmp / "cli"), "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("CIFAR10_DATA", "cifar10"), help="data source")
    parser.add_argument("--preset", default="seed", help="preset to train (default: seed, batch 4)")
    parser.add_argument("--rounds", type=int, default=1, help="page/CLI pairs, alternating which goes first")
    args = parser.parse_args()
    rows = []
    for k in range(args.rounds):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            order = [("page", page_run, Path(a)), ("cli", cli_run, Path(b))]
            result = {name: run(args.data, args.preset, tmp) for name, run, tmp in (order if k % 2 == 0 else order[::-1])}
        result["ratio"] = result["page"] / result["cli"]
        rows.append(result)
        print(f"round {k + 1}: page {result['page']:.0f} images/s, CLI {result['cli']:.0f}: {result['ratio']:.1%}",
              flush=True)
    print(json.dumps({"preset": args.preset, "data": args.data, "rounds": rows}))


if __name__ == "__main__":
    main()
