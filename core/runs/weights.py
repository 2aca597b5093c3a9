"""Weights on disk: safetensors with string metadata, written atomically, never unpickled; loading checks every
tensor against the model spec by name, shape and finiteness."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from core.models.codec import spec_to_json
from core.models.spec import ModelSpec, build_model
from core.runs.layout import RunError, RunFolder
from core.storage import write_atomic


def save_weights(path: Path, model: nn.Module, spec: ModelSpec, classes) -> None:
    save_state(path, model, {"spec": json.dumps(spec_to_json(spec)), "classes": json.dumps(list(classes))})


def save_state(path: Path, model: nn.Module, meta: dict[str, str]) -> None:
    """A model's tensors as safetensors with string metadata, written atomically."""
    save_tensors(path, model.state_dict(), meta)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    """Tensors as safetensors with string metadata, written atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    write_atomic(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]] | None:
    """A safetensors file's tensors and metadata (no pickle, so safe on any file); None if missing or damaged."""
    try:
        with safe_open(path, "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except (OSError, SafetensorError, ValueError):
        return None


def weights_stamp(folder: Path) -> str:
    """Changes whenever the run's weights are saved again: caches derived from the weights keep it to stay fresh."""
    return RunFolder(folder).weights_stamp()


def load_weights(path: Path, spec: ModelSpec) -> nn.Module:
    """Build the spec's model and fill it; weights that do not fit the spec give a RunError naming the tensor."""
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path.name} is not a readable safetensors weights file ({str(exc)[:120]})") from None
    model = build_model(spec)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        name = (missing or extra)[0]
        raise RunError(
            f"{path.name} does not fit the model spec: tensor {name!r} is {'missing' if missing else 'unexpected'}"
        )
    for key, value in expected.items():
        if tuple(tensors[key].shape) != tuple(value.shape):
            raise RunError(
                f"{path.name} does not fit the model spec: {key} has shape {tuple(tensors[key].shape)}, "
                f"the spec needs {tuple(value.shape)}"
            )
        if not torch.isfinite(tensors[key].float()).all():
            raise RunError(f"{path.name}: {key} holds NaN or infinite values")
    model.load_state_dict(tensors)
    return model


