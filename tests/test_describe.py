"""Describe: a collage of known images at known places is described with their classes and positions."""
import pytest
from conftest import CLASSES, class_images
from PIL import Image

from core.insight.describe import describe, sentence, where, windows
from core.jobs.registry import TrainingJob
from core.models.layers import (
    BatchNorm2d,
    Conv2d,
    GlobalAvgPool,
    Linear,
    MaxPool2d,
    ReLU,
)
from core.models.spec import ModelSpec
from core.runs.folder import load_model, open_run
from core.training.config import TrainConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import write_tree

    from core.data.sources import load

    tmp = tmp_path_factory.mktemp("describe")
    dataset = load(str(write_tree(tmp / "tree", per_class=(20, 5))), root=tmp / "data")
    spec = ModelSpec((Conv2d(16), BatchNorm2d(), ReLU(), MaxPool2d(2), Conv2d(32), BatchNorm2d(), ReLU(),
                      GlobalAvgPool(), Linear(10)))
    job = TrainingJob(spec, dataset, TrainConfig(epochs=10, batch_size=20, optimizer="adam", lr=0.01, device="cpu"),
                      tmp / "run").start()
    job.join(120)
    assert job.snapshot().epochs[-1].test_accuracy >= 0.9
    return load_model(open_run(tmp / "run")), dataset


def picture(label: int, side: int = 64) -> Image.Image:
    return Image.fromarray(class_images(label, 1, seed=7)[0]).resize((side, side), Image.Resampling.NEAREST)


def test_a_two_object_collage_is_described_with_classes_and_positions(trained):
    model, dataset = trained
    collage = Image.new("RGB", (128, 64))
    collage.paste(picture(8), (0, 0))  # ship on the left
    collage.paste(picture(0), (64, 0))  # airplane on the right
    d = describe(model, dataset.classes, collage)
    found = {(r.cls, where(r.box, 128, 64)) for r in d.regions}
    assert found == {("ship", "on the left"), ("airplane", "on the right")}
    assert d.sentence == "I see a ship on the left and an airplane on the right."


def test_nothing_confident_means_saying_so():
    assert sentence([], 10, 10, CLASSES).startswith("I don't recognise anything I know here")


def test_positions_in_words():
    assert where((0, 0, 10, 10), 100, 100) == "near the top, left"
    assert where((45, 45, 55, 55), 100, 100) == "in the middle"
    assert where((80, 40, 100, 60), 100, 100) == "on the right"


def test_windows_cover_the_whole_picture_at_several_scales():
    boxes = windows(200, 100)
    assert (0, 0, 100, 100) in boxes and (100, 0, 200, 100) in boxes
    assert len({b[2] - b[0] for b in boxes}) == 3
    assert all(0 <= b[0] < b[2] <= 200 and 0 <= b[1] < b[3] <= 100 for b in boxes)
