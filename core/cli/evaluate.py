"""`evaluate` and `predict`: a saved run's test-set scores (and, on request, under corruptions), and its answers for
image files."""
from __future__ import annotations

from core.cli._common import IMAGES_HELP, CliError, add_json, picture, say
from core.data import sources as datasets
from core.data.corruptions import CORRUPTIONS, SEVERITIES
from core.insight.evaluation import evaluate_run
from core.insight.robustness import run_robustness
from core.runs.folder import load_model, open_run, resolve_cli_run
from core.training.evaluate import predict_image


def add_parser(subparsers) -> None:
    evaluate = subparsers.add_parser("evaluate", help="test accuracy, per class, and the confusion matrix of a run")
    evaluate.add_argument("--run", required=True, help="a run folder")
    evaluate.add_argument("--data", help="data source (default: the one the run trained on)")
    evaluate.add_argument("--corruptions", action="store_true", help=f"also score {len(CORRUPTIONS)} corruptions at 5 "
                          "severities (CIFAR-10-C style, made from the test set; the network alone, no TTA; about 7 "
                          "minutes for a fast run on 2 CPU cores, then kept in the run folder)")
    evaluate.add_argument("--corruption-images", type=int, default=10_000, metavar="N",
                          help="with --corruptions: score the first N test images (default all)")
    add_json(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = subparsers.add_parser("predict", help="classify image files with a run's model")
    predict.add_argument("--run", required=True, help="a run folder")
    predict.add_argument("images", nargs="+", help=IMAGES_HELP)
    add_json(predict)
    predict.set_defaults(handler=cmd_predict)


def cmd_evaluate(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model = load_model(run)
    dataset = datasets.load(args.data or run.summary.source or None)
    evaluation = evaluate_run(run, model, dataset)
    m, calibration = evaluation.metrics, evaluation.calibration
    if not args.json:
        print(f"test accuracy {m.accuracy:.1%} on {len(dataset.test_y):,} images")
        for c in run.classes:
            print(f"  {c:<12} accuracy {m.per_class_accuracy[c]:6.1%}  precision {m.precision[c]:6.1%}")
        print(_calibration_line(calibration))
    extra = calibration.to_json()
    out = {"test_accuracy": m.accuracy, "per_class_accuracy": m.per_class_accuracy, "confusion": m.confusion,
           "precision": m.precision, "recall": m.recall, "abstain": extra.pop("abstain"), "calibration": extra}
    if args.corruptions:
        out.update(_corruptions(args, run, model, dataset))
    return out


def _corruptions(args, run, model, dataset) -> dict:
    if args.corruption_images < 1:
        raise CliError(f"--corruption-images must be at least 1, got {args.corruption_images}")
    r = run_robustness(run, model, dataset, args.corruption_images,
                       progress=lambda done, total, what: say(args, f"\r{done}/{total} corrupted sets: {what}".ljust(60),
                                                              end=""))
    if not args.json:
        print(f"\ncorrupted accuracy {r.mean:.1%} (mean of {len(r.accuracy)} corruptions x 5 severities) against "
              f"{r.clean:.1%} clean, both without TTA, on {r.images:,} test images")
        for name, c in CORRUPTIONS.items():
            print(f"  {c.label:<14} " + "  ".join(f"{r.accuracy[name][s]:6.1%}" for s in SEVERITIES))
    return {"corruption_accuracy": r.to_json()["accuracy"], "corruption_mean": r.mean, "corruption_clean": r.clean,
            "corruption_images": r.images}


def _calibration_line(c) -> str:
    if not c.fitted_on:
        return (f"calibration: none (the run trained on every training image; train with --holdout N to keep some "
                f"back); expected calibration error on the test set {c.ece_before:.1%}")
    return (f"calibration: temperature {c.temperature:.2f} fitted on {c.fitted_on:,} held-out training images; "
            f"expected calibration error on the test set {c.ece_before:.1%} -> {c.ece_after:.1%}")


def cmd_predict(args) -> dict:
    run = open_run(resolve_cli_run(args.run))
    model = load_model(run)
    out = []
    for name in args.images:
        p = predict_image(model, run.classes, picture(name), tta=run.config.tta)
        out.append({"image": name, "top": [{"class": c, "probability": v} for c, v in p.top], "caption": p.caption})
        if not args.json:
            print(f"{name}: {p.caption}")
    return {"predictions": out}
