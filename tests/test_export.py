"""The generated training script is plain PyTorch that runs on its own."""
import subprocess
import sys
from dataclasses import replace

from conftest import write_tree
from core.export import training_script
from core.presets import PRESETS


def test_generated_training_script_runs_a_few_batches(tmp_path):
    tree = write_tree(tmp_path / "tree", per_class=(4, 2))
    script = tmp_path / "train.py"
    script.write_text(training_script(PRESETS["tutorial"].spec, PRESETS["tutorial"].config))
    proc = subprocess.run([sys.executable, str(script), "--data", str(tree), "--epochs", "1", "--max-steps", "3",
                           "--device", "cpu"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test accuracy" in proc.stdout and (tmp_path / "cifar_net.pth").exists()


def test_script_says_what_it_leaves_out():
    text = training_script(PRESETS["fast"].spec, PRESETS["fast"].config)
    assert "Not reproduced here" in text and "lookahead" in text
    assert "RandomCrop(32, padding=2, padding_mode='reflect')" in text
    seed = PRESETS["seed"].config
    assert "2,000 training images held out for calibration" in training_script(PRESETS["seed"].spec, seed)
    assert "Not reproduced here" not in training_script(PRESETS["seed"].spec, replace(seed, holdout=0))
