"""`python -m bench.uploads --run DIR [--run DIR ...] [--images N]`: how an upload of any shape should become 32x32,
and whether test-time augmentation helps uploads, measured on photo-like versions of the test images.

Each test image is enlarged 4x (bicubic, as a photo has more pixels than the network sees) and turned into a
non-square photo in two ways, each at aspect ratios 4:3 and 16:9, landscape or portrait (seeded): "wider", the
picture is the middle of a wider shot whose margins continue it (mirrored); "tighter", the shot is a window of the
picture, cutting part of it off. Every fit in core.data.images.FITS is scored on both, and "all" (the fits' probabilities averaged), without and
with the run's TTA.
Prints a table, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench import DATA_HELP, default_data
from core.data import sources as data
from core.data.images import FITS, to_model_input
from core.runs.folder import load_model, open_run
from core.training.evaluate import predict_logits
from core.training.presets import CALIBRATION_HOLDOUT
from core.training.train import holdout_split

ASPECTS = (4 / 3, 16 / 9)
UPSCALE = 4


def photos(images: torch.Tensor, kind: str, seed: int = 0) -> list[Image.Image]:
    rng = random.Random(seed)
    out = []
    for image in images:
        big = Image.fromarray(image.permute(1, 2, 0).numpy()).resize((32 * UPSCALE,) * 2, Image.Resampling.BICUBIC)
        aspect, portrait = rng.choice(ASPECTS), rng.random() < 0.5
        side = big.width
        if kind == "wider":  # the picture in the middle of a wider shot, its margins mirrored
            extra = round(side * aspect) - side
            before = rng.randint(extra // 4, extra - extra // 4)
            pad = ((before, extra - before), (0, 0)) if portrait else ((0, 0), (before, extra - before))
            photo = np.pad(np.asarray(big), (*pad, (0, 0)), mode="symmetric")
            out.append(Image.fromarray(photo))
        else:  # a window of the picture: part of it cut off
            short = round(side / aspect)
            offset = rng.randint(0, side - short)
            box = (0, offset, side, offset + short) if not portrait else (offset, 0, offset + short, side)
            out.append(big.crop(box))
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.uploads", description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, metavar="DIR", help="a classifier run (repeatable)")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--images", type=int, default=2000, help="test images to turn into photos (the first N)")
    parser.add_argument("--split", choices=("test", "holdout"), default="test",
                        help="holdout: the presets' held-out training images instead (to choose without the test set)")
    args = parser.parse_args(argv)
    dataset = data.load(args.data or default_data())
    if args.split == "holdout":
        idx = holdout_split(len(dataset.train_x), CALIBRATION_HOLDOUT)[1][:args.images]
        images, labels = dataset.train_x[idx], dataset.train_y[idx]
    else:
        images, labels = dataset.test_x[:args.images], dataset.test_y[:args.images]
    shots = {kind: photos(images, kind) for kind in ("wider", "tighter")}
    report: dict = {"split": args.split, "images": len(images), "runs": {}}
    print(f"{'run':<36} {'photos':<8} {'fit':<7} {'no TTA':>7} {'TTA':>7}")
    for folder in args.run:
        run = open_run(Path(folder))
        model = load_model(run)
        scores = {}
        for kind, pictures in shots.items():
            probs = {}
            for fit in FITS:
                x = torch.stack([to_model_input(p, fit) for p in pictures])
                for t in {0, run.config.tta}:
                    probs[fit, t] = torch.softmax(predict_logits(model, x, tta=t), 1)
            for t in {0, run.config.tta}:  # every fit's view, their probabilities averaged
                probs["all", t] = sum(probs[fit, t] for fit in FITS) / len(FITS)
            for fit in (*FITS, "all"):
                plain, tta = (float((probs[fit, t].argmax(1) == labels).float().mean()) for t in (0, run.config.tta))
                scores[f"{kind}/{fit}"] = {"no_tta": plain, "tta": tta}
                print(f"{run.id[:36]:<36} {kind:<8} {fit:<7} {plain:>7.1%} {tta:>7.1%}", flush=True)
        means = {fit: {t: sum(scores[f"{k}/{fit}"][t] for k in shots) / len(shots) for t in ("no_tta", "tta")}
                 for fit in (*FITS, "all")}
        for fit, m in means.items():
            print(f"{run.id[:36]:<36} {'mean':<8} {fit:<7} {m['no_tta']:>7.1%} {m['tta']:>7.1%}")
        report["runs"][run.id] = {"tta_level": run.config.tta, "scores": scores, "mean_by_fit": means}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
