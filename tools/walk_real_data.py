"""Issue 35's additions walked in Chromium on the official pixels, as a new user would, with screenshots.

    python tools/walk_real_data.py [--data SRC] [--out screenshots/real]

A fresh server (empty runs folder): the starter answers on Inspect (its map of 2,000 real test images, a click on
a dot) and Evaluate (weights and ONNX downloaded, the ONNX file run in ONNX Runtime on real test images and compared
with the starter's own answers); then `fast` trains on 5,000 real training images with 2,000 held out and a patience,
its histograms are scrubbed, it is continued for one more epoch, a sweep of two learning rates runs, and runs are
compared by their settings. Prints what each step saw, then one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_browser_studio import expander, finished, url  # noqa: E402  (the walk's own helpers)

from bench import DATA_HELP, default_data  # noqa: E402
from bench.browser import (  # noqa: E402
    ARGS,
    CHROMIUM,
    choose,
    dashboard_server,
    nav,
    pick_all,
    wait_for,
)


class Seen(dict):
    """What each step saw, printed as it is seen (a later failure keeps what came before)."""

    def __setitem__(self, key, value):
        print(f"{key}: {value}", flush=True)
        super().__setitem__(key, value)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=default_data(), help=DATA_HELP)
    parser.add_argument("--out", default=str(ROOT / "screenshots" / "real"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seen = Seen()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        env = {"CIFAR10_DATA": args.data, "CIFAR10_ROOT": f"{tmp}/data", "CIFAR10_RUNS": f"{tmp}/runs"}
        with dashboard_server(env, Path(tmp) / "server.log") as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(300_000)
            page.goto(base)

            nav(page, "Inspect")  # the starter's map of the real test images
            began = time.monotonic()
            page.get_by_role("button", name="Draw the map").click()
            chart = page.locator(".st-key-feature_map_chart .js-plotly-plot")
            chart.wait_for()
            seen["map_seconds_in_browser"] = round(time.monotonic() - began, 1)
            seen["map_caption"] = page.get_by_text("test images, drawn in").first.inner_text()
            chart.scroll_into_view_if_needed()
            point = page.evaluate("""() => {
                const d = document.querySelector('.st-key-feature_map_chart .js-plotly-plot');
                const L = d._fullLayout, r = d.getBoundingClientRect(), t = d.data[3];
                return {x: r.left + L._size.l + L.xaxis.l2p(t.x[5]), y: r.top + L._size.t + L.yaxis.l2p(t.y[5])};
            }""")
            page.mouse.click(point["x"], point["y"])
            seen["map_click"] = page.get_by_text("the network says").first.inner_text()
            page.screenshot(path=out / "01-inspect-map.png")

            nav(page, "Evaluate")  # the starter's weights and ONNX, taken home
            page.locator(".st-key-confusion_chart .js-plotly-plot").wait_for()
            seen["starter_accuracy"] = page.locator("[data-testid='stMetricValue']").first.inner_text()
            expander(page, "Take the model home")
            files = {}
            for label in ("Download weights (safetensors)", "Download ONNX"):
                with page.expect_download() as got:
                    page.get_by_role("button", name=label).click()
                files[label] = Path(tmp) / got.value.suggested_filename
                got.value.save_as(files[label])
            seen["downloads_bytes"] = {k: v.stat().st_size for k, v in files.items()}
            seen["onnx_vs_starter"] = onnx_agreement(files["Download ONNX"], args.data)
            page.screenshot(path=out / "02-evaluate-take-home.png")

            nav(page, "Train")  # fast on 5,000 real images, 2,000 held out, patience 2
            choose(page, "train_model", "fast")
            page.locator(".st-key-fast_epochs input").fill("4")
            expander(page, "Training images, hold-out")
            page.locator(".st-key-fast_limit input").fill("5000")
            page.locator(".st-key-fast_patience input").fill("2")
            page.get_by_role("button", name="Start training").click()
            finished(page, 600)
            seen["fast_run"] = page.get_by_text("Finished: test accuracy").first.inner_text()
            first = url(page).split("run=")[1]
            expander(page, "Weights and gradients")
            page.locator(".st-key-hist_chart .js-plotly-plot").wait_for()
            page.screenshot(path=out / "03-train-histograms.png")

            page.locator(".st-key-more_epochs input").fill("1")
            page.locator(".st-key-more_epochs input").press("Enter")
            page.get_by_role("button", name="Train 1 more epoch").click()
            wait_for(lambda: first not in url(page), timeout=60, what="the continued run")
            finished(page, 600)
            page.locator(".st-key-lineage_chart .js-plotly-plot").wait_for()
            seen["continued_run"] = page.get_by_text("Finished: test accuracy").first.inner_text()
            seen["continued_lr"] = page.locator(".st-key-more_lr [data-testid='stSliderThumbValue']").inner_text()
            second = url(page).split("run=")[1]
            page.screenshot(path=out / "04-train-continued.png")

            expander(page, "Sweep")  # two learning rates on the same 5,000 images, one epoch each
            page.locator(".st-key-fast_epochs input").fill("2")
            box = page.locator(".st-key-fast_sweep_name0 input").first
            box.scroll_into_view_if_needed()
            box.click()
            box.press_sequentially("Learning")
            page.get_by_role("option", name="Learning rate", exact=True).click()
            page.locator(".st-key-fast_sweep_values0 input").fill("0.2, 0.75")
            page.get_by_role("button", name="Start a sweep").click()
            page.get_by_text("Sweep: 2 of 2 runs done").wait_for(timeout=900_000)
            page.locator(".st-key-sweep_parcoords").scroll_into_view_if_needed()
            page.locator(".st-key-sweep_parcoords .js-plotly-plot").wait_for()
            seen["sweep_table"] = page.locator("[data-testid='stDataFrame']").first.inner_text()[:600]
            page.screenshot(path=out / "05-train-sweep.png")

            pick_all(page, "compare_runs", (first, second))
            page.locator(".st-key-cmp_parcoords").scroll_into_view_if_needed()
            page.locator(".st-key-cmp_parcoords .js-plotly-plot").wait_for()
            page.screenshot(path=out / "06-train-compare.png")
            browser.close()
    print(json.dumps(seen))


def onnx_agreement(path: Path, source: str) -> dict:
    """The downloaded ONNX file on 1,000 real test images against the starter in PyTorch: largest logit difference
    and the share with the same answer."""
    import numpy as np
    import onnxruntime

    from core.data import sources as data
    from core.runs.folder import load_model, open_run, run_path
    from core.training.evaluate import predict_logits

    test_x = data.load(source).test_x[:1000]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_logits = session.run(None, {session.get_inputs()[0].name: (test_x.float() / 255).numpy()})[0]
    torch_logits = predict_logits(load_model(open_run(run_path("starter-accurate"))), test_x).float().numpy()
    return {"images": len(test_x), "max_abs_diff": float(np.abs(onnx_logits - torch_logits).max()),
            "same_answer": float((onnx_logits.argmax(1) == torch_logits.argmax(1)).mean())}


if __name__ == "__main__":
    main()
