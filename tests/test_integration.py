"""On the real offline CIFAR-10 copy: the seed model learns far above chance in one short epoch."""
import pytest

from conftest import OFFLINE_COPY
from core.cli import main


@pytest.mark.skipif(not OFFLINE_COPY.exists(), reason=f"the offline CIFAR-10 copy is not at {OFFLINE_COPY}")
def test_seed_preset_one_epoch_on_5000_real_images(capsys, tmp_path, monkeypatch):
    import json

    monkeypatch.setattr("core.data.DATA_ROOT", Path_cache())
    code = main(["train", "--data", str(OFFLINE_COPY), "--model", "seed", "--epochs", "1", "--limit-train", "5000",
                 "--out", str(tmp_path / "run"), "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and result["test_accuracy"] > 0.30


def Path_cache():
    """The decoded copy is cached in the project's data folder, so reruns skip the 20 s decode."""
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "data"


@pytest.mark.skipif(not OFFLINE_COPY.exists(), reason=f"the offline CIFAR-10 copy is not at {OFFLINE_COPY}")
def test_describe_names_two_real_test_images_and_their_places(tmp_path):
    """A collage of two CIFAR-10 test images (a ship left, a truck right) described by a briefly trained model."""
    from dataclasses import replace

    from PIL import Image

    from core import data
    from core.describe import describe, where
    from core.evaluate import predict_probabilities
    from core.images import to_pil
    from core.presets import PRESETS
    from core.train import fit

    dataset = data.load(str(OFFLINE_COPY), Path_cache())
    preset = PRESETS["fast"]
    model = fit(preset.spec, dataset, replace(preset.config, epochs=2, limit_train=25000)).model.float().eval()
    probs = predict_probabilities(model, dataset.test_x)

    def clearest(name: str) -> int:  # the test image of this class the model is surest about
        label = dataset.classes.index(name)
        mine = (dataset.test_y == label).nonzero().flatten()
        return int(mine[probs[mine, label].argmax()])

    collage = Image.new("RGB", (128, 64))
    for x, name in ((0, "ship"), (64, "truck")):
        collage.paste(to_pil(dataset.test_x[clearest(name)], 2), (x, 0))
    d = describe(model, dataset.classes, collage)
    found = {(r.cls, where(r.box, 128, 64)) for r in d.regions}
    assert ("ship", "on the left") in found and ("truck", "on the right") in found, d.sentence
    assert "a ship on the left" in d.sentence and "a truck on the right" in d.sentence
