"""A trained run's network as an ONNX file (torch.onnx, the torch.export-based exporter) that takes RGB pixels in 0..1:
the tutorial's normalisation is part of the graph, so any ONNX runtime gets the engine's scores without PyTorch."""
from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.errors import UserError
from core.recipe import NORMALIZE_MEAN, NORMALIZE_STD
from core.runs.folder import Run, load_model
from core.storage import write_bytes_atomic
from core.training.evaluate import predict_logits

INPUT_NAME, OUTPUT_NAME = "pixels", "logits"
INPUT_TEXT = ("pixels: float32 (N, 3, 32, 32), RGB channels first, in 0..1 (uint8 pixels / 255: 0 black, 1 white); "
              "any batch size N")
OUTPUT_TEXT = "logits: float32 (N, classes) class scores in the order of the classes; softmax gives probabilities"
EXPORT_VERSION = 1  # part of the cached file's name: raise it when the exported graph or its metadata change
# torch.export traces through process-wide state: one export at a time, whichever session or thread asks.
_EXPORTING = threading.Lock()


class PixelsIn(nn.Module):
    """The network behind the engine's normalisation (core.data.batches.normalize after / 255): 0..1 pixels in."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, pixels):  # (N, 3, 32, 32) in 0..1
        return self.net((pixels - NORMALIZE_MEAN) / NORMALIZE_STD)  # (N, classes)


class ExportError(UserError):
    """A network torch.onnx cannot turn into ONNX; the message names the exporter's complaint."""


def onnx_bytes(model: nn.Module, classes, name: str = "model") -> bytes:
    """The ONNX file of `model` (any dtype; exported in float32, eval mode) with 0..1 pixels in and a dynamic batch;
    its doc string and metadata say what goes in, what comes out, the classes and the normalisation."""
    try:
        import onnxscript  # noqa: F401 (the exporter needs it; missing, the fix is one install)
    except ImportError:
        raise ExportError("ONNX export needs the onnx and onnxscript packages: pip install -r requirements.txt") from None
    wrapped = PixelsIn(copy.deepcopy(model)).float().eval()  # a copy: the caller's model keeps its dtype and mode
    example = torch.rand(2, 3, 32, 32)
    batch = torch.export.Dim("batch", min=1)
    try:
        with _EXPORTING, torch.no_grad():
            program = torch.onnx.export(wrapped, (example,), dynamo=True, input_names=[INPUT_NAME],
                                        output_names=[OUTPUT_NAME], dynamic_shapes={"pixels": {0: batch}},
                                        verbose=False)
    except Exception as exc:  # the exporter's own errors have no common type; a person gets the reason in one line
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{name}: this network cannot be exported to ONNX ({reason})") from exc
    proto = program.model_proto
    _describe(proto, list(classes), name)
    return proto.SerializeToString()


def _describe(proto, classes: list[str], name: str) -> None:
    """What a person opening the file in Netron or onnxruntime needs to feed it and read its answer."""
    proto.producer_name = "CIFAR-10 Studio"
    proto.doc_string = (f"{name}: a CIFAR-10 Studio classifier. Input {INPUT_TEXT}; the graph normalises them itself "
                        f"((x - {NORMALIZE_MEAN}) / {NORMALIZE_STD}). Output {OUTPUT_TEXT}. "
                        f"Classes: {', '.join(classes)}.")
    meta = {"classes": json.dumps(classes), "input": INPUT_TEXT, "output": OUTPUT_TEXT, "model": name,
            "normalize_mean": str(NORMALIZE_MEAN), "normalize_std": str(NORMALIZE_STD)}
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.graph.input[0].doc_string = INPUT_TEXT
    proto.graph.output[0].doc_string = OUTPUT_TEXT


def export_onnx(run: Run) -> bytes:
    """The run's ONNX file, made once per saved weights and kept beside the run's other derived files."""
    cached = onnx_cache(run)
    if cached.is_file():
        return cached.read_bytes()
    data = onnx_bytes(load_model(run), run.classes, run.id)
    try:
        for old in cached.parent.glob("model-*.onnx"):  # exports of weights saved before these
            old.unlink(missing_ok=True)
        write_bytes_atomic(cached, data)
    except OSError:  # a folder this process may not write to: the export is still good, only not kept
        pass
    return data


def onnx_cache(run: Run) -> Path:
    """Named by the weights' stamp, so weights saved again (another epoch) never reuse an older export."""
    files = run.files
    if not files.weights.exists():
        raise UserError(f"{run.id} has no saved weights yet (it saves them after each epoch)")
    return files.derived / f"model-{files.weights_stamp()}-v{EXPORT_VERSION}.onnx"


@dataclass(frozen=True)
class OnnxCheck:
    """ONNX Runtime's scores against PyTorch's on the same images."""
    images: int
    max_abs_diff: float  # largest difference between two logits, over every image and class
    same_class: float  # share of images whose top class is the same in both


def check_onnx(data: bytes, model: nn.Module, images: torch.Tensor) -> OnnxCheck:
    """Runs the ONNX file in ONNX Runtime on uint8 images (N, 3, 32, 32), divided by 255 as its input says, and
    compares with the engine's own scores (core.training.evaluate.predict_logits, no test-time augmentation)."""
    try:
        import onnxruntime
    except ImportError:
        raise ExportError("checking an ONNX file needs onnxruntime: pip install -r requirements.txt") from None
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    reference = predict_logits(model.float(), images)  # (N, classes)
    pixels = images.float().numpy() / 255
    got = torch.cat([torch.from_numpy(session.run([OUTPUT_NAME], {INPUT_NAME: pixels[i:i + 500]})[0])
                     for i in range(0, len(pixels), 500)])
    return OnnxCheck(len(images), (got - reference).abs().max().item(),
                     (got.argmax(1) == reference.argmax(1)).float().mean().item())
