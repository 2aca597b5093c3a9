"""`python -m bench.first_answer [--data SRC] [--rounds N]`: the first minute of a new user, measured in Chromium.

A fresh server (empty runs folder, empty data cache: nothing trained, nothing decoded) is started as `make run`
starts it; a browser opens it, uploads a photo on the Inspect page (the shipped starter classifies it and shows where
it looked) and on the Caption page (the starter captioner writes a sentence). Prints the seconds from the server's
start to each answer, then one JSON object as the last line. The photo is a CIFAR-10 test image enlarged to 256x256,
as an upload would be; what is timed is what a person waits for, decoding the dataset on first use included.
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench import DATA_HELP, default_data
from bench.browser import ARGS, CHROMIUM, dashboard_server, nav
from core.data import sources as data


def photo(source: str, out: Path) -> Path:
    test_x = data.load(source).test_x
    Image.fromarray(test_x[3].permute(1, 2, 0).numpy()).resize((256, 256), Image.Resampling.BICUBIC).save(out)
    return out


def cpu_name() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def one_round(source: str, picture: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        env = {"CIFAR10_DATA": source, "CIFAR10_ROOT": f"{tmp}/data", "CIFAR10_RUNS": f"{tmp}/runs"}
        began = time.monotonic()
        with dashboard_server(env, Path(tmp) / "server.log") as base, sync_playwright() as p:
            ready = time.monotonic() - began
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(180_000)
            page.goto(base)
            nav(page, "Inspect")
            page.get_by_text("Upload a photo").first.click()
            page.locator(".st-key-inspect_upload input[type='file']").set_input_files(picture)
            page.get_by_text("Predicted:").first.wait_for()
            classified = time.monotonic() - began
            answer = page.get_by_text("Predicted:").first.inner_text()
            nav(page, "Caption")
            page.get_by_text("Upload a photo").first.click()
            page.locator(".st-key-cap_upload input[type='file']").set_input_files(picture)
            page.locator("h3").filter(has_text="“").first.wait_for()
            captioned = time.monotonic() - began
            sentence = page.locator("h3").filter(has_text="“").first.inner_text()
            browser.close()
    return {"server_ready_s": round(ready, 1), "first_class_s": round(classified, 1),
            "first_sentence_s": round(captioned, 1), "class": answer, "sentence": sentence}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=default_data(), help=DATA_HELP)
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers, one after another (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        picture = photo(args.data, Path(tmp) / "photo.png")
        rounds = [one_round(args.data, picture) for _ in range(args.rounds)]
    for r in rounds:
        print(f"server {r['server_ready_s']:5.1f} s · class {r['first_class_s']:5.1f} s · "
              f"sentence {r['first_sentence_s']:5.1f} s · {r['class']} · {r['sentence']}")
    keys = ("server_ready_s", "first_class_s", "first_sentence_s")
    print(json.dumps({"cpu": cpu_name(), "data": args.data, "rounds": rounds,
                      **{f"median_{k}": sorted(r[k] for r in rounds)[len(rounds) // 2] for k in keys}}))


if __name__ == "__main__":
    main()
