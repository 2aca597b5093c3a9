"""`explain`, `describe` and `neighbours`: what a saved run's model looked at, where the objects it knows are in a
photo, and the training images most like a picture."""
from __future__ import annotations

import time

from core.cli._common import CliError, add_json, out_path, picture, say
from core.data import sources as datasets
from core.data.images import to_model_input
from core.insight.describe import describe, draw_boxes
from core.insight.explain import explain_picture, overlay
from core.insight.neighbours import MAX_K, neighbours, training_features
from core.runs.classes import check_same_classes
from core.runs.folder import load_model, open_run, resolve_cli_run


def add_parser(subparsers) -> None:
    explain = subparsers.add_parser("explain", help="a heat map of where the model looked (Grad-CAM)")
    explain.add_argument("--run", required=True, help="a run folder")
    explain.add_argument("image", help="an image file")
    explain.add_argument("--out", required=True, help="PNG file for the heat map over the image")
    explain.add_argument("--target", help="explain this class instead of the predicted one")
    add_json(explain)
    explain.set_defaults(handler=cmd_explain)

    described = subparsers.add_parser("describe", help="find the objects the model knows in a photo and say where "
                                                       "they are")
    described.add_argument("--run", required=True, help="a run folder")
    described.add_argument("image", help="an image file")
    described.add_argument("--out", help="PNG file with the boxes drawn on the photo")
    add_json(described)
    described.set_defaults(handler=cmd_describe)

    near = subparsers.add_parser("neighbours", help="the training images most like an image, in the network's own "
                                                    "features")
    near.add_argument("--run", required=True, help="a run folder")
    near.add_argument("image", help="an image file")
    near.add_argument("--k", type=int, default=8, help=f"how many, 1 to {MAX_K} (default 8)")
    near.add_argument("--data", help="data source (default: the one the run trained on)")
    add_json(near)
    near.set_defaults(handler=cmd_neighbours)


def cmd_explain(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model, image, out = load_model(run), picture(args.image), out_path(args.out)
    if args.target and args.target not in run.classes:
        raise KeyError(f"--target {args.target!r} is not one of the run's classes ({', '.join(run.classes)})")
    e = explain_picture(model, run.classes, image, args.target)
    overlay(image, e.heatmap).save(out)
    if not args.json:
        print(f"predicted {e.predicted}; heat map of the evidence for {e.target} ({e.method}) saved to {out}")
    return {"predicted": e.predicted, "target": e.target, "heatmap": str(out)}


def cmd_describe(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model, image = load_model(run), picture(args.image)
    d = describe(model, run.classes, image)
    if args.out:
        draw_boxes(image, d.regions).save(out_path(args.out))
    if not args.json:
        print(d.sentence)
    return {"regions": [{"class": r.cls, "probability": r.probability, "box": list(r.box)} for r in d.regions],
            "sentence": d.sentence}


def cmd_neighbours(args) -> dict:
    if not 1 <= args.k <= MAX_K:
        raise CliError(f"--k must be from 1 to {MAX_K}, got {args.k}")
    run = open_run(resolve_cli_run(args.run))
    model, image = load_model(run), picture(args.image)
    dataset = datasets.load(args.data or run.summary.source or None)
    check_same_classes(run.id, run.classes, dataset.classes)
    features = training_features(run, model, dataset,
                                 progress=lambda done, total: say(args, f"\rtraining features: {done}/{total}", end=""))
    started = time.perf_counter()
    found = neighbours(model, features, dataset, to_model_input(image), args.k)
    seconds = time.perf_counter() - started
    if not args.json:
        print()
        for n in found:
            print(f"training image #{n.index:<6} {n.label:<12} similarity {n.similarity:.3f}")
    return {"image": args.image, "neighbours": [vars(n) for n in found], "query_seconds": seconds}
