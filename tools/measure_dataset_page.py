"""Cold start of the Dataset page in a real browser (Chromium): a fresh server, an empty data cache, the first visit.

    python tools/measure_dataset_page.py [--data SRC] [--rounds 3]

Each round starts its own server with its own empty CIFAR10_ROOT, so the source is read and decoded as a new
user's first visit does; it times the opening of /dataset until the image grid and the class-count chart are drawn,
then a second visit (the decoded copy kept by the server). The server start itself (Python and Streamlit imports,
until /_stcore/health answers) is timed apart. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench import DATA_HELP, default_data  # noqa: E402
from bench.browser import ARGS, CHROMIUM, dashboard_server  # noqa: E402  (the browser walk's own helpers)


def visit(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.locator("[data-testid='stImage']").first.wait_for()
    page.locator(".st-key-counts_chart .js-plotly-plot").wait_for()
    return time.perf_counter() - started


def one_round(data: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"CIFAR10_DATA": data, "CIFAR10_ROOT": str(Path(tmp) / "data"), "CIFAR10_RUNS": str(Path(tmp) / "runs")}
        started = time.perf_counter()
        with dashboard_server(env) as base:
            server_s = time.perf_counter() - started
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(300_000)
                first = visit(page, f"{base}/dataset")
                again = visit(browser.new_page(viewport={"width": 1400, "height": 1000}), f"{base}/dataset")
                browser.close()
        return {"server_start_s": server_s, "first_visit_s": first, "second_visit_s": again}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=DATA_HELP)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    data = args.data or default_data()
    rounds = [one_round(data) for _ in range(args.rounds)]
    for r in rounds:
        print(", ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
    report = {"data": data, "rounds": rounds,
              "median_first_visit_s": statistics.median(r["first_visit_s"] for r in rounds),
              "median_second_visit_s": statistics.median(r["second_visit_s"] for r in rounds)}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
