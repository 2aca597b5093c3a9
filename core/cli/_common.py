"""What every command group shares: the one-line parser, --json, progress on the right stream, files named on the
command line, the model a command starts from, and the run folder it creates."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.data.images import ImageError, decode_image
from core.errors import UserError
from core.jobs.registry import JobSnapshot
from core.models.codec import spec_from_json
from core.models.layers import SpecError
from core.models.spec import ModelSpec
from core.runs import folder as run_folders
from core.runs.folder import RunError, new_run_id
from core.runs.view import format_eta
from core.training.config import TrainConfig
from core.training.presets import PRESETS, get_preset

DATA_HELP = "cifar10 (default, or $CIFAR10_DATA), a folder, or an archive"
DEBUG_HELP = "on an error, also print its traceback (for maintainers; users get the one error line either way)"
JSON_HELP = "print one JSON object as the last line (progress goes to stderr)"
IMAGES_HELP = "image files (PNG, JPEG, WebP, BMP, GIF)"


class CliError(UserError):
    """A command line that asks for something impossible; the message says what instead."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other error
        raise CliError(message)


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=JSON_HELP)


def say(args, text: str, end: str = "\n") -> None:
    """Progress and messages: on stdout, or on stderr when stdout's last line must be the JSON."""
    stream = sys.stderr if args.json else sys.stdout
    print(text, end=end, file=stream, flush=True)


def loading_progress(args):
    """The dataset loader's progress callback, on one line that overwrites itself."""
    return lambda done, total, msg: say(args, f"\r{msg}: {done}/{total}", end="")


def progress_line(snap: JobSnapshot) -> str:
    s = snap.steps[-1]
    width = 24
    filled = int(width * snap.progress)
    eta = format_eta(s.eta)
    phase = f"epoch {s.epoch}" if s.epoch else "adapting the encoder"  # a captioner's adapt phase is epoch 0
    return (f"[{'#' * filled}{'.' * (width - filled)}] {phase} step {s.step}/{s.total_steps} "
            f"loss {s.loss:.3f} | {s.images_per_second:,.0f} img/s | ETA {eta}")


def load_spec(model: str) -> tuple[ModelSpec, TrainConfig]:
    """--model: a preset's network and settings, or a spec file's network with the default settings."""
    if model in PRESETS:
        preset = get_preset(model)
        return preset.spec, preset.config
    path = Path(model)
    if path.suffix.lower() != ".json":
        raise SpecError(f"--model {model!r} is neither a preset ({', '.join(PRESETS)}) nor a .json spec file")
    if not path.is_file():
        raise SpecError(f"model spec file {model} does not exist")
    return spec_from_json(path.read_text()), TrainConfig()


def new_run_folder(out: str | None, name: str) -> Path:
    """--out, or a fresh folder in the runs folder; a folder holding anything is refused, so nothing is overwritten."""
    folder = Path(out) if out else run_folders.RUNS_ROOT / new_run_id(name)  # read now: tests point it elsewhere
    if folder.exists() and any(folder.iterdir()):
        raise RunError(f"{folder} already exists and is not empty; choose another --out so nothing saved is overwritten")
    return folder


def picture(name: str):
    path = Path(name)
    if not path.is_file():
        raise ImageError(f"{name} does not exist")
    return decode_image(path.read_bytes(), name)


def out_path(name: str) -> Path:
    out = Path(name)
    if out.suffix.lower() != ".png":
        raise ImageError(f"--out {name} must end in .png")
    if not out.parent.is_dir():
        raise ImageError(f"--out {name}: folder {out.parent} does not exist")
    return out
