"""The README's time-to-accuracy chart from `python -m bench`'s own JSON:
`python -m bench.chart RESULT.json [--out docs/img/time_to_accuracy.png]` (the same plotly figure the app would
draw, rendered to PNG by Chromium)."""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from ui.figures import time_to_accuracy_figure

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def figure_png(fig, path: Path, width: int = 900, height: int = 420) -> Path:
    """Render a plotly figure to a PNG with the system's Chromium (plotly's own image export needs Kaleido)."""
    from playwright.sync_api import sync_playwright

    fig.update_layout(width=width, height=height)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "figure.html"
        fig.write_html(html, include_plotlyjs=True, full_html=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": width + 20, "height": height + 20})
            page.goto(html.as_uri())
            page.locator(".js-plotly-plot").wait_for()
            page.wait_for_timeout(500)
            page.locator(".js-plotly-plot").screenshot(path=path)
            browser.close()
    return path


def curves(report: dict) -> dict[str, list[dict]]:
    """Every contender's accuracy-against-seconds points that the report holds, the baseline first."""
    out = {"tutorial pipeline (batch 4, SGD 0.001)": report["same_model"]["tutorial_curve"],
           "seed, engine defaults (batch 128, one-cycle)": report["seed_curve"]}
    for row in report.get("given_tutorial_time", []):
        out[f"{row['name']} preset"] = row["curve"]
    return out


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m bench.chart", description=__doc__.splitlines()[0])
    parser.add_argument("result", help="a file whose last line is `python -m bench`'s JSON")
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "time_to_accuracy.png"))
    args = parser.parse_args(argv)
    report = json.loads(Path(args.result).read_text().strip().splitlines()[-1])
    fig = time_to_accuracy_figure(curves(report), report["same_model"]["tutorial_test_accuracy"])
    path = figure_png(fig, Path(args.out))
    print(path)
    return path


if __name__ == "__main__":
    main()
