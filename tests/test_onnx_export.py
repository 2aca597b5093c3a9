"""Take the model home: the ONNX file gives ONNX Runtime PyTorch's scores, and the exported train.py loads the
weights a person downloads. ONNX Runtime is the independent reference: it never sees the engine's code."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from conftest import copy_run

from core.cli.main import main
from core.data.batches import normalize
from core.models.layers import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    GlobalAvgPool,
    Linear,
    ReLU,
    ResidualBlock,
    Scale,
)
from core.models.modules import WhiteningConv
from core.models.spec import ModelSpec, build_model
from core.runs.export import training_script
from core.runs.folder import load_model, open_run, save_weights
from core.runs.onnx_export import ExportError, export_onnx, onnx_bytes, onnx_cache
from core.training.evaluate import predict_logits
from core.training.presets import PRESETS

# The layer kinds no preset uses, in one small network: residual blocks (one changing width and stride), average
# pooling, dropout, a BatchNorm that learns its scale.
OTHER_KINDS = ModelSpec((Conv2d(8), BatchNorm2d(), ReLU(), ResidualBlock(8), ResidualBlock(16, stride=2),
                         AvgPool2d(2), Dropout(0.3), GlobalAvgPool(), Linear(10), Scale(2.0)), name="other-kinds")
SPECS = {**{name: p.spec for name, p in PRESETS.items()}, "other-kinds": OTHER_KINDS}


def onnx_scores(data: bytes, images: torch.Tensor) -> np.ndarray:
    """ONNX Runtime's logits for uint8 (N, 3, 32, 32) images, fed as the file says: RGB in 0..1."""
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {"pixels": images.numpy().astype(np.float32) / 255})[0]


def assert_same_scores(got: np.ndarray, want: torch.Tensor) -> float:
    """Equal up to float rounding, relative to the logits' size (an untrained net's are small), and the same class."""
    want = want.numpy()
    diff = float(np.abs(got - want).max())
    assert got.shape == want.shape
    assert diff <= 1e-4 * max(float(np.abs(want).max()), 1e-3), f"max abs diff {diff}, logits up to {np.abs(want).max()}"
    assert (got.argmax(1) == want.argmax(1)).all()
    return diff


def settled(spec: ModelSpec, images: torch.Tensor) -> torch.nn.Module:
    """The spec's model with its data-dependent parts set as training sets them: whitening from the images, BatchNorm
    statistics from a pass over them, so eval mode is not an identity and every layer shapes the scores."""
    model = build_model(spec, seed=0)
    x = normalize(images)
    for m in model.modules():
        if isinstance(m, WhiteningConv):
            m.init_from(x)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a plain average of the batches seen
    with torch.no_grad():
        model.train()(x)
    return model.eval()


@pytest.fixture
def run(tiny_dataset, tmp_path, tutorial_run_once):
    """The tutorial net trained two epochs on the tiny data: a test's own copy, since exporting keeps a file in it."""
    return open_run(copy_run(tutorial_run_once, tmp_path / "runs" / "r1", tiny_dataset.source))


@pytest.mark.parametrize("name", list(SPECS))
def test_every_layer_kind_exports_with_pytorchs_scores_at_any_batch_size(name, tiny_dataset):
    images = tiny_dataset.test_x  # (30, 3, 32, 32) uint8, decoded from PNG files as real data is
    model = settled(SPECS[name], images)
    data = onnx_bytes(model, tiny_dataset.classes, name)
    for n in (1, 7):  # one file for every batch size
        assert_same_scores(onnx_scores(data, images[:n]), predict_logits(model, images[:n]))
    proto = onnx.load_from_string(data)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a named, dynamic batch axis


def test_a_half_precision_model_exports_in_float32(tiny_dataset):
    images = tiny_dataset.test_x[:7]
    model = settled(SPECS["fast"], images).half()  # as a run trained in fp16 saves it
    data = onnx_bytes(model, tiny_dataset.classes, "fast")
    assert next(model.parameters()).dtype == torch.float16  # the caller's model is left as it was
    assert onnx.load_from_string(data).graph.initializer[0].data_type == onnx.TensorProto.FLOAT
    assert_same_scores(onnx_scores(data, images), predict_logits(model.float(), images))


def test_a_trained_run_exports_once_per_saved_weights_and_says_what_goes_in(run, tiny_dataset):
    data = export_onnx(run)
    diff = assert_same_scores(onnx_scores(data, tiny_dataset.test_x), predict_logits(load_model(run),
                                                                                       tiny_dataset.test_x))
    assert diff < 1e-4
    proto = onnx.load_from_string(data)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == list(run.classes)
    assert (meta["normalize_mean"], meta["normalize_std"]) == ("0.5", "0.5")
    assert "0..1" in meta["input"] and "0..1" in proto.doc_string and "truck" in proto.doc_string
    assert [i.name for i in proto.graph.input] == ["pixels"] and [o.name for o in proto.graph.output] == ["logits"]
    cached = onnx_cache(run)
    assert cached.read_bytes() == data and export_onnx(run) == data
    os.utime(run.files.weights, ns=(1, 1))  # the weights saved again: the old export is not theirs
    assert onnx_cache(run) != cached
    export_onnx(run)
    assert not cached.exists() and onnx_cache(run).exists()


def test_an_export_that_fails_is_one_user_error(run, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("Unsupported operator aten::frobnicate\nlong trace")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    with pytest.raises(ExportError, match=r"cannot be exported to ONNX \(Unsupported operator aten::frobnicate\)$"):
        export_onnx(run)


@pytest.mark.parametrize("weights", ["trained run", "fp16 gpu-speedrun"])
def test_the_exported_script_loads_the_downloaded_weights(weights, run, tmp_path, tiny_dataset):
    if weights == "trained run":
        spec, config, path, engine = run.spec, run.config, run.files.weights, load_model(run)
    else:  # a run trained in fp16 saves fp16 tensors; the script's Net is float32
        spec, config, path = PRESETS["gpu-speedrun"].spec, PRESETS["gpu-speedrun"].config, tmp_path / "w.safetensors"
        engine = settled(spec, tiny_dataset.test_x).half()
        save_weights(path, engine, spec, run.classes)
        engine.float()  # the same fp16-rounded values, in float32 as the script holds them
    namespace = {"__name__": "train"}
    exec(compile(training_script(spec, config), "train.py", "exec"), namespace)
    net = namespace["load_weights"](str(path))
    x = normalize(tiny_dataset.test_x[:7])
    with torch.no_grad():
        assert not net.training and torch.allclose(net(x), engine.eval()(x), atol=1e-5)


@pytest.mark.slow
def test_the_script_tests_the_downloaded_weights_from_the_command_line(run, tmp_path, tiny_tree, tiny_dataset):
    (tmp_path / "train.py").write_text(training_script(run.spec, run.config))
    proc = subprocess.run([sys.executable, "train.py", "--data", str(tiny_tree), "--device", "cpu", "--weights",
                           str(run.files.weights)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", proc.stdout).group(1)) / 100
    engine = predict_logits(load_model(run), tiny_dataset.test_x).argmax(1)
    assert accuracy == pytest.approx((engine == tiny_dataset.test_y).float().mean().item(), abs=1e-3)
    assert not (tmp_path / "cifar_net.pth").exists()  # tested, not trained


def test_the_cli_writes_the_onnx_file_and_checks_it(run, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    code = main(["export", "--run", str(run.path), "--onnx", str(out), "--check", "30", "--json"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(stdout.strip().splitlines()[-1])
    assert out.read_bytes() == export_onnx(run) and result["bytes"] == out.stat().st_size
    assert result["check"]["images"] == 30 and result["check"]["max_abs_diff"] < 1e-4
    assert result["check"]["same_class"] == 1.0


@pytest.mark.parametrize("flags, message", [
    (["--onnx", "model.txt"], "must end in .onnx"),
    (["--onnx", "no/such/folder/model.onnx"], "does not exist"),
    (["--onnx", "model.onnx", "--check", "-1"], "--check must be 0 or more"),
])
def test_the_cli_refuses_what_it_cannot_write(run, flags, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code = main(["export", "--run", str(run.path), *flags])
    _, err = capsys.readouterr()
    assert code == 2 and message in err.strip().splitlines()[-1]


def test_the_take_home_widget_offers_the_three_files(run):
    from streamlit.testing.v1 import AppTest

    def page(path):
        from core.runs.folder import open_run
        from ui.take_home import take_home_ui

        take_home_ui("r1", open_run(path))

    at = AppTest.from_function(page, args=(run.path,)).run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download weights (safetensors)", "Download ONNX", "Download train.py"]
    assert "--weights r1.safetensors" in at.caption[0].value
    assert not list(run.path.glob("model-*.onnx"))  # drawn, not exported: that waits for a click
