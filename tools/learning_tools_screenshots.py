"""The learner tools (LR finder, time-lapse, calibration and "not sure", nearest neighbours) in Chromium on a real
run, every one of their widgets changed, with screenshots into docs/img/:

    python tools/learning_tools_screenshots.py --runs DIR --run RUN_ID [--data SRC]

RUN_ID is a finished classifier run in DIR with at least three epochs (e.g. `python -m core train --model fast
--out DIR/RUN_ID`); the photo uploaded is its data's test image #7, written to a temporary file. Prints what it saw.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench import DATA_HELP, default_data  # noqa: E402
from bench.browser import ARGS, CHROMIUM, choose, dashboard_server, nav, wait_for  # noqa: E402
from core.data import sources as data  # noqa: E402
from core.data.images import to_pil  # noqa: E402

IMG = ROOT / "docs" / "img"
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--runs", required=True, help="the runs folder holding the run")
parser.add_argument("--run", required=True, help="the run's id (its folder name)")
parser.add_argument("--data", help=DATA_HELP)
args = parser.parse_args()
RUN, source = args.run, args.data or default_data()
photo = Path(tempfile.mkdtemp()) / "test7.png"
to_pil(data.load(source).test_x[7]).save(photo)
env = {"CIFAR10_DATA": source, "CIFAR10_RUNS": args.runs}

def shot(page, heading, name, wait=1500):
    page.get_by_role("heading", name=heading).first.evaluate("h => h.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(wait)
    page.screenshot(path=f"{IMG}/{name}.png")

with dashboard_server(env) as base, sync_playwright() as p:
    b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    page = b.new_page(viewport={"width": 1400, "height": 1000}); page.set_default_timeout(180_000)
    page.goto(f"{base}/train?run={RUN}")
    page.get_by_text("Time-lapse of learning").wait_for()
    thumb = page.get_by_role("slider", name="Epoch"); thumb.focus(); thumb.press("Home")
    page.get_by_text("First-layer filters after epoch 1 ").wait_for()
    thumb.press("ArrowRight"); thumb.press("ArrowRight")
    page.get_by_text("First-layer filters after epoch 3 ").wait_for()
    page.get_by_text("Time-lapse of learning").evaluate("h => h.scrollIntoView({block: 'start'})"); page.wait_for_timeout(1500)
    page.screenshot(path=f"{IMG}/timelapse.png")
    # LR finder on the real data with the seed model at batch 128
    choose(page, "train_model", "seed")
    page.locator(".st-key-seed_batch input").fill("128")
    page.get_by_role("button", name="Find a learning rate").click()
    t = time.time()
    use = page.locator(".st-key-lr_find_use button"); use.wait_for(timeout=300_000)
    print("lr finder in the browser", round(time.time() - t, 1), "s;", use.inner_text())
    shot(page, "Learning-rate finder", "lr_finder")
    suggested = use.inner_text().split()[1]
    use.click()
    wait_for(lambda: page.locator(".st-key-seed_lr [data-testid='stSliderThumbValue']").inner_text() == suggested,
             what="the suggestion in the form")
    print("form lr now", suggested)
    nav(page, "Evaluate")
    page.locator(".st-key-abstain_chart .js-plotly-plot").wait_for()
    thumb = page.locator(".st-key-abstain_threshold input[type='range']"); thumb.focus()
    for _ in range(40):
        thumb.press("ArrowRight")  # 0.50 -> 0.90
    page.get_by_text("At 90%: it answers").wait_for()
    print(page.get_by_text("At 90%: it answers").inner_text())
    shot(page, "How far to trust it", "trust")
    page.locator(".st-key-photo_upload input[type='file']").set_input_files(photo)
    page.locator(".st-key-topk_chart .js-plotly-plot").wait_for()
    print("upload:", page.locator("h3").filter(has_text="%").first.inner_text())
    nav(page, "Inspect")
    page.get_by_text("The training images most like this one").wait_for()
    near = page.locator("[data-testid='stImageCaption']").filter(has_text=" · ")
    wait_for(lambda: near.count() == 8, timeout=300, what="neighbours")
    thumb = page.locator(".st-key-neighbours_k input[type='range']"); thumb.focus()
    for _ in range(8):
        thumb.press("ArrowRight")
    wait_for(lambda: near.count() == 16, timeout=60, what="16 neighbours")
    shot(page, "The training images most like this one", "neighbours")
    print(near.all_inner_texts()[:16])
    b.close()
