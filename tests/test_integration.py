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
