"""How the describers read varied scenes (issue 33): `python -m bench.varied_baseline --classifier-run DIR
[--captioner-run DIR] [--data SRC] [--scenes 600] [--split test|validation] [--no-template] [--pairs N] [--json]`.

The template describer (the classifier run's windows, core.insight.describe) and, given one, a learned captioner
(greedy, through the same fitting an upload gets) caption the fixed varied test scenes (core.caption.varied: test
pictures only, any size and place, canvases up to 5:2). Each is scored overall, on the scenes whose objects are all
32 px or larger (where issue 33 sets its targets), by the smallest object's size and by object count. `--split
validation` scores scenes drawn the same way from training pictures instead, which is what settings are chosen on.
With a captioner, `--pairs N` also scores the upload issue 33 began with: N pictures of two pictures side by side at
32, 64 and 96 px each. Prints a table and one JSON line."""
from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch

from bench import DATA_HELP, default_data
from core.caption.evaluate import TEMPLATE_SCALES, template_on_scenes
from core.caption.model import beam_search, prepare
from core.caption.runs import load_captioner, open_captioner
from core.caption.scenes import SceneObject
from core.caption.varied import (
    VARIED_TEST_SEED,
    Backdrop,
    VariedScene,
    render_varied,
    varied_test_scenes,
)
from core.caption.varied_scores import VariedScores, score_varied, score_varied_meanings
from core.data import sources as data
from core.data.images import to_pil
from core.runs.classes import check_same_classes
from core.runs.folder import load_model, open_run

VALIDATION_SEED = 20_270_401  # --split validation: varied scenes from training pictures, never the test set's seed


PAIR_SIDES = (32, 64, 96)  # the example: two test pictures side by side at 64 px each, a 128x64 picture
PAIR_SEED = 20_270_402


def side_by_side(labels, n_classes: int, side: int, count: int, seed: int = PAIR_SEED) -> list[VariedScene]:
    """Two pictures side by side, each `side` px, filling a (2 side) x side picture: the upload issue 33 began with."""
    rng, by_class = random.Random(seed + side), [torch.nonzero(labels == c).flatten().tolist() for c in range(n_classes)]
    scenes = []
    for _ in range(count):
        picks = [rng.randrange(n_classes) for _ in range(2)]
        objects = tuple(SceneObject(c, rng.choice(by_class[c]), place, (x, 0, x + side, side))
                        for c, place, x in zip(picks, ("left", "right"), (0, side)))
        scenes.append(VariedScene(2 * side, side, "row2", objects, Backdrop("plain")))
    return scenes


def pair_scores(classifier, captioner, classes, labels, pictures, count: int, template: bool) -> dict:
    out = {}
    for side in PAIR_SIDES:
        scenes = side_by_side(labels, len(classes), side, count)
        row = {"scenes": count, "captioner": asdict(captioner_scores(captioner, classes, scenes, pictures).overall)}
        if template:
            row["template"] = asdict(template_scores(classifier, classes, scenes, pictures).overall)
        out[str(side)] = row
    return out


def template_scores(classifier, classes, scenes, pictures, scales=TEMPLATE_SCALES) -> VariedScores:
    meanings, sentences = template_on_scenes(classifier, classes, scenes, pictures, scales)
    return score_varied_meanings(meanings, sentences, scenes, classes)


def captioner_scores(model, classes, scenes, pictures) -> VariedScores:
    """Greedy captions of each scene rendered as a picture, fitted the way an upload is."""
    model.eval()
    sentences = [beam_search(model, prepare(model, to_pil(render_varied(s, pictures))), 1)[0].sentence for s in scenes]
    return score_varied(sentences, scenes, classes)


def as_json(scores: VariedScores) -> dict:
    return {"overall": asdict(scores.overall), "no_small": asdict(scores.no_small),
            "by_size": {k: asdict(v) for k, v in scores.by_size.items()},
            "by_count": {str(k): asdict(v) for k, v in scores.by_count.items()},
            "objects_by_size": {k: {"objects": n, "named": named} for k, (n, named) in scores.objects_by_size.items()}}


def table(name: str, scores: VariedScores) -> str:
    rows = [("all", scores.overall), ("objects all >= 32 px", scores.no_small),
            *((f"smallest object {k}", v) for k, v in scores.by_size.items()),
            *((f"{k} object{'s' if k > 1 else ''}", v) for k, v in scores.by_count.items())]
    lines = [f"{name}: exact meaning / objects named in place / BLEU-4 (scenes)"]
    lines += [f"  {label:<24} {s.exact:6.1%} {s.recall:6.1%} {s.bleu:6.3f} ({s.scenes})" for label, s in rows]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.varied_baseline", description=__doc__.splitlines()[0])
    parser.add_argument("--classifier-run", required=True, metavar="DIR", help="the run the template describer uses")
    parser.add_argument("--captioner-run", metavar="DIR", help="a learned captioner to score beside it")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--scenes", type=int, default=600, help="how many of the fixed varied test scenes (600)")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="test: the fixed varied test scenes; validation: as many drawn the same way from TRAINING "
                             "pictures by another seed, for choosing settings without looking at the test set")
    parser.add_argument("--no-template", action="store_true", help="score the captioner only")
    parser.add_argument("--pairs", type=int, default=200, metavar="N",
                        help="also N pictures of two pictures side by side at each of 32, 64 and 96 px (0: none)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    dataset = data.load(args.data or default_data())
    classes = list(dataset.classes)
    labels, pictures = (dataset.test_y, dataset.test_x) if args.split == "test" else (dataset.train_y, dataset.train_x)
    seed = VARIED_TEST_SEED if args.split == "test" else VALIDATION_SEED
    scenes = varied_test_scenes(labels, len(classes), args.scenes, seed)
    run = open_run(Path(args.classifier_run))
    check_same_classes(run.id, run.classes, classes)
    out, shown = {"scenes": len(scenes), "split": args.split}, []
    if not args.no_template:
        started = time.perf_counter()
        template = template_scores(load_model(run).eval(), classes, scenes, pictures)
        out.update(template=as_json(template), template_seconds=time.perf_counter() - started)
        shown.append(table("template describer", template))
    if args.captioner_run:
        cap_run = open_captioner(Path(args.captioner_run))
        check_same_classes(cap_run.id, cap_run.classes, classes, "captioner")
        started = time.perf_counter()
        c = captioner_scores(load_captioner(cap_run), classes, scenes, pictures)
        out["captioner"], out["captioner_seconds"] = as_json(c), time.perf_counter() - started
        shown.append(table("learned captioner", c))
        if args.pairs:
            model = load_captioner(cap_run)
            out["pairs"] = pair_scores(load_model(run).eval(), model, classes, labels, pictures, args.pairs,
                                       not args.no_template)
            shown.append("two pictures side by side (exact meaning / objects named in place):\n" + "\n".join(
                f"  {side} px each, {2 * int(side)}x{side}: captioner {r['captioner']['exact']:.1%} / "
                f"{r['captioner']['recall']:.1%}" + (f", template {r['template']['exact']:.1%} / "
                                                     f"{r['template']['recall']:.1%}" if "template" in r else "")
                for side, r in out["pairs"].items()))
    if not args.json:
        print("\n\n".join(shown))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
