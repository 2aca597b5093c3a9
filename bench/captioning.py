"""`python -m bench.captioning [--data SRC] [--encoder-run DIR] [--quick]`: how fast a captioner becomes useful on
this machine, and how it compares with the template describer on the same fixed test scenes.

Trains the Caption page's captioner (the same CaptionJob) and records, after every epoch, the training seconds so far
and the scores on the fixed test scenes: caption accuracy against training seconds. Then scores the template describer
(with the encoder run's classifier) on the same scenes. Nothing is chosen by test scores: the settings are fixed
beforehand. Prints a line per epoch, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench import DATA_HELP, default_data
from core.caption.config import ENCODER_MODES, CaptionConfig
from core.caption.evaluate import (
    caption_scenes,
    classes_named,
    meaning_of,
    named_by_size,
    score_template,
)
from core.caption.fitting import FITS
from core.caption.job import encoder_source, train_captioner_blocking
from core.caption.runs import load_captioner, open_captioner
from core.caption.scenes import evaluation_scenes
from core.data import sources as data
from core.runs.folder import load_model, open_run, read_summary
from core.training.evaluate import predict_classes
from core.training.history import adapt_event

VARIED_KEYS = ("varied_exact", "varied_recall", "varied_bleu", "varied_large_exact", "varied_large_recall")


def progress_printer():
    """An on_poll that prints each epoch's scores once, as it arrives."""
    shown = 0

    def on_poll(snap) -> None:
        nonlocal shown
        for e in snap.epochs[shown:]:
            varied = "" if e.varied_exact is None else (
                f"; varied exact {e.varied_exact:.1%}, objects >= 32 px: exact {e.varied_large_exact:.1%}, "
                f"objects {e.varied_large_recall:.1%}")
            print(f"epoch {e.epoch}: {e.seconds:.0f} s, exact {e.exact:.1%}, objects {e.recall:.1%}, "
                  f"BLEU-4 {e.bleu:.3f}, held-out exact {e.held_out_exact:.1%}{varied}", flush=True)
        shown = len(snap.epochs)

    return on_poll


def by_size(said, run, dataset, scenes) -> dict:
    """The fixed test scenes' objects by their side on the canvas: the share the captioner named at their place, and
    the share of the same objects' own 32x32 pictures its encoder's classifier names alone (without and with its TTA).
    Shrunk pictures carry fewer pixels; this says how much of the gap to the classifier is that."""
    classifier, table = load_model(run), {}  # the run as trained: the captioner's encoder may have adapted since
    for side, (objects, named) in named_by_size(said, scenes, dataset.classes).items():
        alone = [o.image for scene in scenes for o in scene.objects if o.box[2] - o.box[0] == side]
        pictures, labels = dataset.test_x[alone], dataset.test_y[alone]
        table[str(side)] = {"objects": objects, "captioner": named / objects,
                            **{key: (predict_classes(classifier, pictures, tta=tta) == labels).float().mean().item()
                               for key, tta in (("single", 0), ("single_tta", run.config.tta))}}
        row = table[str(side)]
        print(f"{side}-pixel objects ({objects}): captioner {row['captioner']:.1%}, their pictures alone "
              f"{row['single']:.1%} ({row['single_tta']:.1%} with TTA)", flush=True)
    return table


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.captioning", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--encoder-run", help="a classifier run: its conv layers become the encoder, and the "
                                              "template describer uses it; without it the encoder starts from "
                                              "scratch and the template is left out")
    parser.add_argument("--epochs", type=int, default=CaptionConfig().epochs)
    parser.add_argument("--scenes-per-epoch", type=int, default=CaptionConfig().scenes_per_epoch)
    parser.add_argument("--encoder-mode", default=CaptionConfig().encoder_mode, choices=ENCODER_MODES)
    parser.add_argument("--adapt-scenes", type=int, default=CaptionConfig().adapt_scenes,
                        help="with adapt: training scenes the encoder adapts on first (their time counts in the curve)")
    parser.add_argument("--encoder-lr", type=float, default=CaptionConfig().encoder_lr,
                        help="with finetune: the encoder's learning rate as a share of the decoder's")
    parser.add_argument("--varied-share", type=float, default=CaptionConfig().varied_share,
                        help="the share of training batches drawn as varied scenes")
    parser.add_argument("--picture", default=CaptionConfig().picture, choices=list(FITS),
                        help="the size every picture is fitted to before the encoder reads it")
    parser.add_argument("--quick", action="store_true", help="a smoke run (tiny settings) for tests")
    parser.add_argument("--keep", metavar="DIR", help="keep the captioner's run folder here (default: a temporary one)")
    args = parser.parse_args(argv)
    source = args.data or default_data()
    dataset = data.load(source)
    config = CaptionConfig(epochs=args.epochs, scenes_per_epoch=args.scenes_per_epoch, device="cpu",
                           encoder_mode=args.encoder_mode, encoder_lr=args.encoder_lr, adapt_scenes=args.adapt_scenes,
                           varied_share=args.varied_share, picture=args.picture)
    if args.quick:
        config = replace(config, epochs=2, scenes_per_epoch=128, batch_size=32, hidden=32, test_scenes=32,
                         held_out_scenes=16, adapt_scenes=64, varied_test_scenes=24)
    encoder = encoder_source(Path(args.encoder_run) if args.encoder_run else None, dataset.classes)
    report: dict = {"data": source, "encoder": encoder.label, "config": config.to_json(),
                    "encoder_single_image_accuracy": encoder.test_accuracy}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp) / "captioner"
        started, progress = time.perf_counter(), progress_printer()
        snap = train_captioner_blocking(dataset, config, encoder, folder, on_poll=progress, poll_s=1.0)
        wall = time.perf_counter() - started
        summary = read_summary(folder)
        captioner = load_captioner(open_captioner(folder)) if snap.epochs else None
    progress(snap)
    report["status"], report["wall_seconds"] = snap.status, wall
    adapted = adapt_event(snap.events)
    report["adapted"] = adapted.reason if adapted is not None else None
    report["scenes_per_second"] = summary.images_per_second
    report["curve"] = [{"epoch": e.epoch, "seconds": e.seconds, "exact": e.exact, "precision": e.precision,
                        "recall": e.recall, "bleu": e.bleu, "held_out_exact": e.held_out_exact,
                        "held_out_recall": e.held_out_recall, "sample": e.samples[0]["sentence"] if e.samples else "",
                        **{key: getattr(e, key) for key in VARIED_KEYS}}
                       for e in snap.epochs]
    if args.encoder_run:
        run = open_run(Path(args.encoder_run))
        scenes = evaluation_scenes(dataset.test_y, len(dataset.classes), config.test_scenes)
        held = evaluation_scenes(dataset.test_y, len(dataset.classes), config.held_out_scenes, held="only")
        classifier = load_model(run)
        report["template"] = vars(score_template(classifier, dataset.classes, scenes, dataset.test_x))
        report["template_held_out"] = vars(score_template(classifier, dataset.classes, held, dataset.test_x))
        t = report["template"]
        print(f"template describer ({run.id}): exact {t['exact']:.1%}, objects {t['recall']:.1%} "
              f"(precision {t['precision']:.1%}), BLEU-4 {t['bleu']:.3f}", flush=True)
        if captioner is not None:
            said = [meaning_of(s, dataset.classes) for s in caption_scenes(captioner, scenes, dataset.test_x)]
            report["by_size"] = by_size(said, run, dataset, scenes)
            objects, named = classes_named(said, scenes, dataset.classes)
            report["classes_named"] = named / objects  # at whatever place: the rest of the misses are wrong places
            print(f"classes named at any place: {named / objects:.1%} of {objects} objects", flush=True)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
