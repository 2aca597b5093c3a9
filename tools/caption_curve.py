"""The README's captioning chart from `python -m bench.captioning`'s JSON line: `python tools/caption_curve.py
bench.json` writes docs/img/caption_curve.png (the same plotly figure the app would draw, rendered by Chromium)."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.figures import caption_time_figure  # noqa: E402


def main() -> None:
    report = json.loads(Path(sys.argv[1]).read_text().strip().splitlines()[-1])
    fig = caption_time_figure(report["curve"], report.get("template"))
    fig.update_layout(width=900, height=380)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "curve.html"
        fig.write_html(html, include_plotlyjs=True, full_html=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 920, "height": 400})
            page.goto(html.as_uri())
            page.locator(".js-plotly-plot").wait_for()
            page.wait_for_timeout(500)
            page.locator(".js-plotly-plot").screenshot(path=ROOT / "docs" / "img" / "caption_curve.png")
            browser.close()
    print(ROOT / "docs" / "img" / "caption_curve.png")


if __name__ == "__main__":
    main()
