"""Tiny datasets generated in the real on-disk formats: python batches, class-folder trees, archives.

The one-minute loop while developing: `python -m pytest -q -m "not slow"` (`make test` and CI run everything)."""
from __future__ import annotations

import io
import json
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench import (
    OFFICIAL_COPY,  # CIFAR-10, official format and pixels, beside the checkout (CI has it too)
)
from core.models.layers import Conv2d, GlobalAvgPool, Linear, ReLU
from core.models.spec import ModelSpec
from core.training.config import TrainConfig
from core.training.presets import PRESETS

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _real_data_line(config) -> str:
    marks = config.getoption("markexpr") or ""
    if "not slow" in marks:
        return f"real-data tests NOT RUN: -m {marks!r} leaves out the slow tests, and they are among them"
    if OFFICIAL_COPY.exists():
        return f"real-data tests: on {OFFICIAL_COPY}"
    return f"real-data tests SKIPPED: the official-format copy is not at {OFFICIAL_COPY}"


def pytest_report_header(config):
    """Say at the top and at the end of every run whether the real-data tests ran, so a skip is never silent."""
    return _real_data_line(config)


def pytest_terminal_summary(terminalreporter):
    line = _real_data_line(terminalreporter.config)
    terminalreporter.write_sep("=" if line.startswith("real-data tests: on") else "!", line)


def class_images(label: int, n: int, seed: int) -> np.ndarray:
    """(n, 32, 32, 3) uint8: each class is a distinct colour and stripe direction, plus noise, so it is learnable."""
    rng = np.random.default_rng(seed * 100 + label)
    base = np.zeros((32, 32, 3), np.float32)
    base[..., label % 3] = 180
    stripes = (np.arange(32) // (2 + label // 3)) % 2 * 70
    base += stripes[:, None, None] if label % 2 else stripes[None, :, None]
    noise = rng.normal(0, 20, (n, 32, 32, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_tree(root: Path, per_class=(6, 3), classes=CLASSES, fmt="png") -> Path:
    for split, n in zip(("train", "test"), per_class):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, pixels in enumerate(class_images(label, n, seed=0 if split == "train" else 1)):
                Image.fromarray(pixels).save(folder / f"{i:04d}.{fmt}")
    return root


class _Python2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2's str (BINSTRING), as the official release was written: readers then see bytes with
    encoding="bytes" (the project's) and str with encoding="latin1" (torchvision's), as with the real files."""

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj if n < 256 else
                   pickle.BINSTRING + n.to_bytes(4, "little") + obj)
        self.memoize(obj)

    dispatch = {**pickle._Pickler.dispatch, bytes: save_bytes}


def write_batches(root: Path, per_class=(6, 3)) -> Path:
    """cifar-10-batches-py exactly as the official release lays it out (Python 2 pickles of dicts)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def dump(name, split_seed, n):
        xs, ys = [], []
        for label in range(10):
            xs.append(class_images(label, n, split_seed).transpose(0, 3, 1, 2).reshape(n, -1))
            ys += [label] * n
        with open(folder / name, "wb") as f:
            _Python2Pickler(f, protocol=2).dump({b"data": np.concatenate(xs), b"labels": ys, b"batch_label": b"x"})

    dump("data_batch_1", 0, per_class[0])
    dump("test_batch", 1, per_class[1])
    with open(folder / "batches.meta", "wb") as f:
        _Python2Pickler(f, protocol=2).dump({b"label_names": [c.encode() for c in CLASSES], b"num_vis": 3072})
    return root


def tar_of(tree: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(tree / split, arcname=split)
    return out


def png_bytes(pixels: np.ndarray | None = None, mode="RGB", size=(32, 32)) -> bytes:
    image = Image.fromarray(pixels) if pixels is not None else Image.new(mode, size, 128 if mode in "L" else None)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data and runs folders, never the project's."""
    root = tmp_path / "dataroot"
    monkeypatch.setattr("core.data.sources.DATA_ROOT", root)
    monkeypatch.setattr("core.runs.folder.RUNS_ROOT", tmp_path / "runs")
    monkeypatch.delenv("CIFAR10_DATA", raising=False)
    return root


@pytest.fixture
def tiny_tree(tmp_path) -> Path:
    return write_tree(tmp_path / "tree")


@pytest.fixture
def tiny_batches(tmp_path) -> Path:
    return write_batches(tmp_path / "batches")


@pytest.fixture
def tiny_archive(tmp_path, tiny_tree) -> Path:
    return tar_of(tiny_tree, tmp_path / "tiny.tar.gz")


@pytest.fixture
def tiny_dataset(data_root, tiny_tree):
    from core.data.sources import load

    return load(str(tiny_tree))


SMALL_SPEC = ModelSpec((Conv2d(8), ReLU(), GlobalAvgPool(), Linear(10)), name="small")
SMALL_CONFIG = TrainConfig(epochs=2, batch_size=20, lr=0.05, device="cpu")


def _train_once(folder: Path, spec: ModelSpec, config: TrainConfig) -> Path:
    """Train `spec` on the tiny tree in a TrainingJob, as the dashboard does; the run folder it leaves is returned."""
    from core.data.sources import load
    from core.jobs.registry import TrainingJob

    dataset = load(str(write_tree(folder / "tree")), root=folder / "data")
    job = TrainingJob(spec, dataset, config, folder / "run").start()
    assert job.join(60) and job.snapshot().status == "finished", job.snapshot().reason
    return folder / "run"


def copy_run(trained: Path, to: Path, source: str) -> Path:
    """A test's own copy of a run trained once per session, reading as if trained here on `source`: the summary is the
    one file of a run folder that names its data."""
    shutil.copytree(trained, to)
    summary = json.loads((to / "summary.json").read_text())
    (to / "summary.json").write_text(json.dumps({**summary, "source": source}, indent=2))
    return to


# Runs that tests only read or damage are trained once per session (the tiny data is the same in every test, seeded),
# and each test gets its own copy, so training twenty times is not the price of reading a run twenty times.
@pytest.fixture(scope="session")
def small_run_once(tmp_path_factory) -> Path:
    return _train_once(tmp_path_factory.mktemp("small-run"), SMALL_SPEC, SMALL_CONFIG)


@pytest.fixture(scope="session")
def tutorial_run_once(tmp_path_factory) -> Path:
    config = TrainConfig(epochs=2, batch_size=10, device="cpu", holdout=10)
    return _train_once(tmp_path_factory.mktemp("tutorial-run"), PRESETS["tutorial"].spec, config)


@pytest.fixture
def finished_run(tiny_dataset, tmp_path, small_run_once) -> Path:
    """A small model trained 2 epochs on the tiny dataset, saved in a run folder."""
    return copy_run(small_run_once, tmp_path / "runs" / "r1", tiny_dataset.source)


@pytest.fixture
def app_env(data_root, tiny_tree, monkeypatch):
    """The dashboard on tiny generated data, with fresh process-wide caches and its own runs folder."""
    import streamlit as st

    monkeypatch.setenv("CIFAR10_DATA", str(tiny_tree))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tiny_tree
    from ui.state import registry

    for job in registry().running():
        job.stop()
        job.join(10)
    st.cache_resource.clear()


def open_page(page: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=60)
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def plotly_figures(at) -> dict:
    """Plotly charts on the page by key, as figure dicts."""
    import json

    return {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


@pytest.fixture
def trained_run(app_env, tutorial_run_once):
    """A two-epoch tutorial-net run on the tiny data (10 of its 60 training images held out for calibration), saved
    where the dashboard looks for runs."""
    from core.runs.folder import run_path

    return copy_run(tutorial_run_once, run_path("20260101-000000-tutorial-abc123"), str(app_env)).name
