"""Home page: the dataset status, the device, saved runs, and a clear explanation when data is missing."""
from conftest import open_page


def test_home_shows_dataset_counts_and_device(app_env):
    at = open_page()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training images"] == "60" and metrics["Test images"] == "30"
    assert metrics["Training runs on"].startswith("CPU") and metrics["Runs"] == "0"


def test_a_missing_dataset_is_explained_not_a_traceback(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR10_DATA", str(tmp_path / "gone"))
    at = open_page()
    assert not at.exception
    assert "does not exist" in at.error[0].value and "The dataset is not available" in at.error[0].value
