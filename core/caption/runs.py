"""Captioner run folders: the same layout as a classifier's (summary, metrics, classes, safetensors weights), with
the captioner's description (encoder spec and decoder settings), its vocabulary and its config; each file checked when
read back. The files' names are in core.runs.layout."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn

from core.bounds import settings_problem
from core.caption.config import CaptionConfig
from core.caption.fitting import FITS, OLD_FIT, PictureFit
from core.caption.model import Captioner, DecoderSpec
from core.models.codec import spec_from_json, spec_to_json
from core.models.layers import SpecError
from core.models.spec import ModelSpec
from core.runs.folder import Recorder, read_classes, save_state
from core.runs.layout import RunError, RunFolder, read_json, write_json
from core.runs.summary import RunSummary
from core.training.config import ConfigError
from core.training.history import CaptionEpochReport

SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]


@dataclass
class CaptionerRun:
    id: str
    path: Path
    encoder: ModelSpec
    decoder: DecoderSpec
    vocab: list[str]
    classes: tuple[str, ...]
    config: CaptionConfig
    summary: RunSummary
    fit: PictureFit = OLD_FIT  # how it scales pictures (core.caption.fitting)

    @property
    def files(self) -> RunFolder:
        return RunFolder(self.path)


# What runs saved before a setting existed did, filled in when they are read: before issue 33 every captioner trained on
# the fixed scenes only and fitted pictures into 96x64.
OLD_CONFIG = {"varied_share": 0.0, "picture": OLD_FIT.name, "varied_test_scenes": 0, "scales": 1}


def describe_captioner(model: Captioner) -> dict:
    return {"encoder": spec_to_json(model.encoder_spec), "decoder": asdict(model.decoder_spec), "fit": model.fit.name}


def save_captioner(path: Path, model: Captioner, classes) -> None:
    """Weights with the vocabulary and classes in the file's metadata, written atomically."""
    save_state(path, model, {"vocab": json.dumps(model.vocab), "classes": json.dumps(list(classes)),
                             "captioner": json.dumps(describe_captioner(model))})


class CaptionRecorder(Recorder):
    def __init__(self, folder: Path, model: Captioner, config: CaptionConfig, classes, source: str, device: str,
                 encoder_from: str):
        self.model_classes = tuple(classes)
        folder.mkdir(parents=True, exist_ok=True)
        files = RunFolder(folder)
        write_json(files.captioner, describe_captioner(model))
        write_json(files.config, config.to_json())
        write_json(files.vocab, model.vocab)
        write_json(files.classes, list(classes))
        super().__init__(folder, RunSummary(kind="captioner", name="captioner", model=f"captioner ({config.cell})",
                                            source=source, device=device, epochs=config.epochs,
                                            encoder_from=encoder_from))

    def save(self, model: nn.Module) -> None:
        save_captioner(RunFolder(self.folder).weights, model, self.model_classes)

    def epoch_summary(self, report: CaptionEpochReport) -> dict:
        return {"epochs_done": report.epoch, "test_accuracy": report.exact, "bleu": report.bleu,
                "object_recall": report.recall, "held_out_exact": report.held_out_exact}


# ----------------------------------------------------------------------------------------------------------------
# reading back


def open_captioner(folder: Path) -> CaptionerRun:
    """Every JSON file of a captioner run, checked; the weights are loaded by load_captioner."""
    files = RunFolder(folder)
    if files.spec.is_file() and not files.captioner.is_file():
        raise RunError(f"{folder.name} is a classifier run; a captioner run is needed (train one on the Caption page "
                       f"or with `python -m core caption-train`)")
    described, named = read_json(files.captioner), files.captioner.name
    try:
        encoder = spec_from_json(described["encoder"])
        decoder = DecoderSpec(**{"pixel_places": False, "scales": 1, **described["decoder"]})  # saved before: without
        problem = settings_problem(decoder)
        if problem:
            raise RunError(f"{folder.name}: {named}: {problem}")
        config = CaptionConfig.from_json({**OLD_CONFIG, **read_json(files.config)})
        fit = FITS[described.get("fit", OLD_FIT.name)]
    except (SpecError, ConfigError, KeyError, TypeError, AttributeError) as exc:  # an unknown fit: KeyError
        raise RunError(f"{folder.name}: {named} or {files.config.name} is damaged ({exc})") from None
    vocab = read_json(files.vocab)
    if (not isinstance(vocab, list) or not all(isinstance(w, str) and w for w in vocab)
            or len(set(vocab)) != len(vocab) or vocab[:4] != SPECIALS):
        raise RunError(f"{folder.name}: {files.vocab.name} is damaged: it must be a list of distinct words starting "
                       f"with {', '.join(SPECIALS)}")
    return CaptionerRun(folder.name, folder, encoder, decoder, vocab, read_classes(files), config, files.read_summary(),
                        fit)


def load_captioner(run: CaptionerRun) -> Captioner:
    """The trained captioner, read-only in effect (shared between sessions); a vocabulary or weights file changed
    after training is refused with the reason."""
    path, described, vocab = run.files.weights, run.files.captioner.name, run.files.vocab.name
    if not path.exists():
        raise RunError(f"{run.id} has no saved weights yet (it saves them after each epoch)")
    try:
        tensors = load_file(path)
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path.name} is not a readable safetensors weights file ({str(exc)[:120]})") from None
    if "vocab" in meta and json.loads(meta["vocab"]) != run.vocab:
        raise RunError(f"{run.id}: {vocab} differs from the vocabulary the weights were trained with; it was "
                       "changed after training (restore it, or train again)")
    model = Captioner(run.encoder, run.decoder, run.vocab, fit=run.fit)
    expected = model.state_dict()
    for key, value in expected.items():
        if key not in tensors:
            raise RunError(f"{path.name} does not fit {described}: tensor {key!r} is missing")
        if tuple(tensors[key].shape) != tuple(value.shape):
            raise RunError(f"{path.name} does not fit {described} and {vocab}: {key} has shape "
                           f"{tuple(tensors[key].shape)}, they need {tuple(value.shape)}")
        if not torch.isfinite(tensors[key].float()).all():
            raise RunError(f"{path.name}: {key} holds NaN or infinite values")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise RunError(f"{path.name} does not fit {described}: tensor {extra[0]!r} is unexpected")
    model.load_state_dict(tensors)
    model.eval().requires_grad_(False)
    return model

