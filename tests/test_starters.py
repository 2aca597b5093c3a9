"""The starter runs shipped in starters/: listed everywhere as starters, usable by id, read-only, visible to every
student, and (on the official pixels) re-evaluated to exactly the accuracy their provenance records."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench import OFFICIAL_COPY
from core.classroom.access import can_see_folder
from core.classroom.accounts import Identity
from core.runs.folder import list_runs, load_model, open_run, run_path
from core.runs.layout import STARTERS_ROOT, RunError, RunFolder

ROOT = Path(__file__).resolve().parents[1]
STARTERS = sorted((p.name for p in STARTERS_ROOT.iterdir() if p.is_dir()), reverse=True)  # listed as runs are
CLASSIFIER = "starter-accurate"


def test_the_starters_are_there_each_with_its_provenance():
    assert CLASSIFIER in STARTERS
    for name in STARTERS:
        provenance = json.loads((STARTERS_ROOT / name / "provenance.json").read_text())
        assert {"command", "data", "commit", "machine", "date", "weights_sha256"} <= set(provenance)


def test_starters_are_listed_after_ones_own_runs_and_opened_by_id(data_root, finished_run):
    listed = list_runs()
    assert [r.id for r in listed][:1] == [finished_run.name] and not listed[0].starter
    starters = [r for r in listed if r.starter]
    assert [r.id for r in starters] == STARTERS
    assert run_path(CLASSIFIER) == STARTERS_ROOT / CLASSIFIER
    model = load_model(open_run(run_path(CLASSIFIER)))
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


def test_the_cli_marks_them_and_refuses_to_delete_one(tmp_path):
    env = {"CIFAR10_RUNS": str(tmp_path / "runs"), "PATH": ""}
    listed = subprocess.run([sys.executable, "-m", "core", "runs", "--json"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    runs = json.loads(listed.stdout.splitlines()[-1])["runs"]
    assert [r["id"] for r in runs if r["starter"]] == STARTERS and all(r["starter"] for r in runs)
    refused = subprocess.run([sys.executable, "-m", "core", "runs", "--delete", str(STARTERS_ROOT / CLASSIFIER)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "is a starter run shipped with the studio: it cannot be deleted" in refused.stderr
    assert (STARTERS_ROOT / CLASSIFIER / "weights.safetensors").exists()


def test_what_tools_compute_from_a_starter_goes_to_the_cache_not_the_project(data_root):
    files = RunFolder(STARTERS_ROOT / CLASSIFIER)
    assert files.starter
    for derived in (files.calibration, files.neighbours, files.robustness):
        assert derived.parent == data_root / "cache" / "starters" / CLASSIFIER
    assert not RunFolder(run_path("anything-else")).starter


def test_every_student_sees_the_starters_and_nobody_can_train_into_one():
    assert can_see_folder(Identity("ann"), STARTERS_ROOT / CLASSIFIER)
    from core.cli._common import new_run_folder

    with pytest.raises(RunError, match="already exists and is not empty"):
        new_run_folder(str(STARTERS_ROOT / CLASSIFIER), "accurate")


@pytest.mark.slow
@pytest.mark.skipif(not OFFICIAL_COPY.exists(), reason="the official-format copy is not beside the checkout")
def test_the_shipped_classifier_scores_exactly_what_its_provenance_records(tmp_path):
    provenance = json.loads((STARTERS_ROOT / CLASSIFIER / "provenance.json").read_text())
    done = subprocess.run([sys.executable, "-m", "core", "evaluate", "--run", CLASSIFIER, "--data", str(OFFICIAL_COPY),
                           "--json"], cwd=ROOT, env={"CIFAR10_RUNS": str(tmp_path / "runs"),
                                                     "CIFAR10_ROOT": str(tmp_path / "data"), "PATH": ""},
                          capture_output=True, text=True, timeout=290)
    assert done.returncode == 0, done.stderr[-500:]
    confusion = json.loads(done.stdout.splitlines()[-1])["confusion"]
    assert sum(row[i] for i, row in enumerate(confusion)) == provenance["test_correct"]
    assert sum(map(sum, confusion)) == provenance["test_images"] == 10_000


def test_a_classifier_only_rebuild_says_the_captioner_keeps_its_earlier_encoder(tmp_path):
    from bench.starters import _encoder_kept

    captioner = tmp_path / "starter-captioner"
    captioner.mkdir()
    (captioner / "provenance.json").write_text(json.dumps({"encoder": "starter-accurate (the same weights)"}))
    _encoder_kept(captioner, {"weights_sha256": "abc123", "date": "2026-12-07", "command": "python -m core train"})
    provenance = json.loads((captioner / "provenance.json").read_text())
    assert "abc123" in provenance["encoder"] and "2026-12-07" in provenance["encoder"]
    assert "not retrained" in provenance["encoder_replaced"]
    _encoder_kept(captioner, {"weights_sha256": "def456", "date": "2026-12-09"})  # a second rebuild: the first stands
    assert "abc123" in json.loads((captioner / "provenance.json").read_text())["encoder"]


@pytest.mark.parametrize("best, kept", [(7, None), (8, 8), (None, None)])
def test_a_starter_names_no_best_epoch_whose_weights_it_does_not_ship(tmp_path, best, kept):
    from bench.starters import install

    run = tmp_path / "run"
    run.mkdir()
    (run / "weights.safetensors").write_bytes(b"last")
    (run / "best.safetensors").write_bytes(b"best")
    (run / "summary.json").write_text(json.dumps({"epochs_done": 8, "best_epoch": best}))
    target = install(run, "starter-x", tmp_path / "starters", {"command": "c"})
    assert not (target / "best.safetensors").exists()
    assert json.loads((target / "summary.json").read_text())["best_epoch"] == kept
