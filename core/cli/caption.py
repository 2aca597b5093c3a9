"""`caption-train` and `caption`: train a captioner on scenes composed from CIFAR-10, and caption image files with a
saved one, word by word with where it looked."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core.caption.attention import attention_strip
from core.caption.config import CaptionConfig
from core.caption.job import encoder_source, train_captioner_blocking
from core.caption.model import MAX_BEAM, beam_search, prepare
from core.caption.runs import load_captioner, open_captioner
from core.cli._common import (
    DATA_HELP,
    IMAGES_HELP,
    CliError,
    add_json,
    loading_progress,
    new_run_folder,
    picture,
    progress_line,
    say,
)
from core.cli._flags import add_setting_flags, given
from core.data import sources as datasets
from core.device import resolve_device
from core.jobs.registry import JobSnapshot
from core.runs.folder import resolve_cli_run
from core.training.config import ConfigError
from core.training.history import adapt_event
from core.training.status import RunStatus


def add_parser(subparsers) -> None:
    train = subparsers.add_parser("caption-train", help="train a captioner (CNN encoder + attention RNN decoder) on "
                                                        "scenes composed from CIFAR-10")
    train.add_argument("--data", help=DATA_HELP)
    train.add_argument("--encoder-run", metavar="DIR", help="a classifier run whose conv layers become the encoder "
                                                            "(default: an encoder from scratch)")
    add_setting_flags(train, CaptionConfig)
    train.add_argument("--out", help="run folder to create (default runs/<time>-captioner-<id>)")
    add_json(train)
    train.set_defaults(handler=cmd_caption_train)

    caption = subparsers.add_parser("caption", help="say in a sentence what a captioner run sees in image files, "
                                                    "word by word with where it looked")
    caption.add_argument("--run", required=True, help="a captioner run folder")
    caption.add_argument("images", nargs="+", help=IMAGES_HELP)
    caption.add_argument("--beam", type=int, default=3, help=f"beam width, 1 (greedy) to {MAX_BEAM} (default 3)")
    caption.add_argument("--attention-out", metavar="DIR", help="save one PNG per image: the picture and each word's "
                                                                "attention map")
    add_json(caption)
    caption.set_defaults(handler=cmd_caption)


def cmd_caption_train(args) -> dict:
    config = replace(CaptionConfig(), **given(args, CaptionConfig)).check()
    device = resolve_device(config.device)
    encoder_run = resolve_cli_run(args.encoder_run) if args.encoder_run else None  # refused before any loading
    dataset = datasets.load(args.data, progress=loading_progress(args))
    encoder = encoder_source(encoder_run, dataset.classes)
    folder = new_run_folder(args.out, "captioner")
    say(args, f"training a captioner (encoder: {encoder.label}, {config.encoder_mode if encoder.state else 'trained'}"
              f") on scenes from {dataset.source} on {device}, run {folder}")
    shown = {"epochs": 0, "step": 0, "adapted": False}

    def on_poll(snap: JobSnapshot) -> None:
        if snap.steps and snap.steps[-1].step != shown["step"]:
            say(args, progress_line(snap).replace("img/s", "scenes/s"))
            shown["step"] = snap.steps[-1].step
        adapted = adapt_event(snap.events)
        if adapted is not None and not shown["adapted"]:
            say(args, adapted.reason)
            shown["adapted"] = True
        for e in snap.epochs[shown["epochs"]:]:
            varied = "" if e.varied_exact is None else (
                f", varied scenes exact {e.varied_exact:.1%} (objects all >= 32 px: exact {e.varied_large_exact:.1%},"
                f" objects {e.varied_large_recall:.1%})")
            say(args, f"epoch {e.epoch}: loss {e.train_loss:.3f}, exact {e.exact:.1%}, objects right "
                      f"{e.recall:.1%}, BLEU-4 {e.bleu:.3f}, held-out pairs exact {e.held_out_exact:.1%}{varied}; "
                      f"e.g. \"{e.samples[0]['sentence'] if e.samples else ''}\"")
        shown["epochs"] = len(snap.epochs)

    snap = train_captioner_blocking(dataset, config, encoder, folder, on_poll=on_poll, poll_s=5.0)
    on_poll(snap)
    if snap.status in (RunStatus.FAILED, RunStatus.DIVERGED):
        raise ConfigError(f"run {snap.status}: {snap.reason}")
    summary = open_captioner(folder).summary
    last = snap.epochs[-1] if snap.epochs else None
    say(args, f"{snap.status}: exact {'n/a' if last is None else f'{last.exact:.1%}'}, saved in {folder}")
    return {"run": str(folder), "device": str(device), "encoder": encoder.label, "epochs": len(snap.epochs),
            "train_seconds": summary.train_seconds, "scenes_per_second": summary.images_per_second,
            "exact": last.exact if last else None, "object_precision": last.precision if last else None,
            "object_recall": last.recall if last else None, "bleu": last.bleu if last else None,
            "held_out_exact": last.held_out_exact if last else None, "status": snap.status}


def cmd_caption(args) -> dict:
    if not 1 <= args.beam <= MAX_BEAM:
        raise CliError(f"--beam must be from 1 to {MAX_BEAM}, got {args.beam}")
    run = open_captioner(resolve_cli_run(args.run, kind="captioner"))
    model = load_captioner(run)
    out_dir = Path(args.attention_out) if args.attention_out else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    pictures = [(name, picture(name)) for name in args.images]  # every file checked before any work
    out = []
    for i, (name, image) in enumerate(pictures):
        beams = beam_search(model, prepare(model, image), args.beam)
        best = beams[0]
        item = {"image": name, "sentence": best.sentence, "words": best.words,
                "beams": [{"sentence": b.sentence, "score": b.score} for b in beams]}
        if out_dir is not None:
            path = out_dir / f"{i:02d}-{Path(name).stem[:40]}-attention.png"
            attention_strip(model.fit.picture(image), best).save(path)
            item["attention"] = str(path)
        out.append(item)
        if not args.json:
            print(f"{name}: {best.sentence}")
    return {"captions": out}
