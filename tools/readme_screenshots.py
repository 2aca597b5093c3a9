"""Screenshots for the README, taken from the real app on a real dataset: `python tools/readme_screenshots.py`.

Uses CIFAR10_DATA (the offline copy on these machines), trains one short `fast` run through the CLI so the
Evaluate and Inspect pages have something to show, then drives Chromium through the pages into docs/img/.
`--caption-only` takes just the Caption page, from a captioner run already in $SCREENSHOT_RUNS/runs (e.g. the one
`python -m bench.captioning --keep DIR` leaves).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
sys.path.insert(0, str(ROOT))

from bench.browser import ARGS, CHROMIUM, dashboard_server  # noqa: E402
from core.runs.layout import RunFolder  # noqa: E402


def caption_shot(page, base: str) -> None:
    """The Caption page captioning a two-object test scene, its words' attention maps side by side."""
    page.goto(f"{base}/caption")
    page.get_by_role("heading", name="Caption a picture").wait_for(timeout=60_000)
    box = page.locator(".st-key-cap_scene input")
    box.fill("3")
    box.press("Enter")
    page.get_by_text("what the captioner saw").wait_for(timeout=60_000)
    page.wait_for_timeout(2500)
    page.get_by_role("heading", name="Caption a picture").evaluate("h => h.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.screenshot(path=OUT / "caption.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    runs = Path(os.environ.get("SCREENSHOT_RUNS") or tempfile.mkdtemp()) / "runs"
    env = {**os.environ, "CIFAR10_RUNS": str(runs)}
    caption_only = "--caption-only" in sys.argv[1:]
    if not caption_only and not RunFolder(runs / "20260101-000000-fast-readme").weights.exists():
        subprocess.run([sys.executable, "-m", "core", "train", "--model", "fast", "--epochs", "3",
                        "--out", str(runs / "20260101-000000-fast-readme")], cwd=ROOT, env=env, check=True)
    with dashboard_server({"CIFAR10_RUNS": str(runs)}) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})

        def shot(name: str, wait_text: str) -> None:
            page.get_by_text(wait_text).first.wait_for(timeout=60_000)
            page.wait_for_timeout(2500)
            page.screenshot(path=OUT / f"{name}.png")

        if caption_only:
            caption_shot(page, base)
            browser.close()
            return
        page.goto(base)
        shot("home", "Training images")
        for title, wait in [("Dataset", "Images per class"), ("Model", "Parameters"),
                            ("Evaluate", "Confusion matrix"), ("Inspect", "Predicted:")]:
            page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
            shot(title.lower(), wait)
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Train").click()
        page.get_by_role("heading", name="Train", exact=True).wait_for()
        page.locator(".st-key-train_model input").first.click()
        page.locator(".st-key-train_model input").first.fill("fast")
        page.get_by_role("option", name="fast", exact=True).click()
        try:
            page.locator(".st-key-fast_limit input").fill("20000", timeout=30_000)
        except Exception:
            page.screenshot(path=OUT / "debug-train.png")
            raise
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("Accuracy per epoch").first.wait_for(timeout=120_000)
        page.wait_for_timeout(4000)
        page.get_by_text("Training loss").first.scroll_into_view_if_needed()
        page.screenshot(path=OUT / "train.png")
        caption_shot(page, base)
        browser.close()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
