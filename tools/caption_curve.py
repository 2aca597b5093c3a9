"""The README's captioning chart from `python -m bench.captioning`'s JSON line: `python tools/caption_curve.py
bench.json [LABEL=other.json ...] [varied=VARIED.json]` writes docs/img/caption_curve.png (the same plotly figure the
app would draw, rendered by Chromium), other runs' curves dashed; `varied=` names `python -m bench.varied_baseline`'s
JSON line, whose template describer scores on the varied test scenes are drawn as flat lines."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.chart import figure_png  # noqa: E402
from ui.figures import caption_time_figure  # noqa: E402


def main() -> None:
    def curve_of(path: str) -> dict:
        return json.loads(Path(path).read_text().strip().splitlines()[-1])

    report = curve_of(sys.argv[1])
    named = dict(arg.split("=", 1) for arg in sys.argv[2:])
    varied_file = named.pop("varied", None)
    others = {label: curve_of(path)["curve"] for label, path in named.items()}
    template = report.get("template")
    if template and varied_file:  # the template's varied scores under the curve's names for them
        varied = curve_of(varied_file)["template"]
        template = {**template, "varied_exact": varied["overall"]["exact"],
                    "varied_large_exact": varied["no_small"]["exact"], "varied_large_recall": varied["no_small"]["recall"]}
    path = figure_png(caption_time_figure(report["curve"], template, others),
                      ROOT / "docs" / "img" / "caption_curve.png", height=520)
    print(path)


if __name__ == "__main__":
    main()
