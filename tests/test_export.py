"""The generated training script is plain PyTorch that runs on its own."""
import subprocess
import sys
from dataclasses import replace

import pytest
from conftest import write_tree

from core.runs.export import to_python, training_script
from core.training.presets import PRESETS


@pytest.mark.slow
def test_generated_training_script_runs_a_few_batches(tmp_path):
    tree = write_tree(tmp_path / "tree", per_class=(4, 2))
    script = tmp_path / "train.py"
    script.write_text(training_script(PRESETS["tutorial"].spec, PRESETS["tutorial"].config))
    proc = subprocess.run([sys.executable, str(script), "--data", str(tree), "--epochs", "1", "--max-steps", "3",
                           "--device", "cpu"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test accuracy" in proc.stdout and (tmp_path / "cifar_net.pth").exists()


@pytest.mark.slow
def test_every_augmentation_is_exported_as_torchvision_transforms_that_run(tmp_path):
    tree = write_tree(tmp_path / "tree", per_class=(4, 2))
    config = replace(PRESETS["tutorial"].config, crop_scale=0.5, color_jitter=0.3, erasing=0.5, crop_padding=2,
                     flip=True, noise=0.05, blur=0.8)
    text = training_script(PRESETS["tutorial"].spec, config)
    for transform in ("RandomResizedCrop(32, scale=(0.5, 1.0))", "RandomCrop(32, padding=2", "RandomHorizontalFlip()",
                      "ColorJitter(0.3, 0.3, 0.3)", "GaussianBlur(5, sigma=(0.01, 0.8))", "RandomErasing(0.5, value=0)",
                      "2 * 0.05 * torch.rand(())"):
        assert transform in text
    (tmp_path / "train.py").write_text(text)
    proc = subprocess.run([sys.executable, "train.py", "--data", str(tree), "--epochs", "1", "--max-steps", "2",
                           "--device", "cpu"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_script_says_what_it_leaves_out():
    text = training_script(PRESETS["fast"].spec, PRESETS["fast"].config)
    assert "Not reproduced here" in text and "lookahead" in text
    assert "RandomCrop(32, padding=2, padding_mode='reflect')" in text
    seed = PRESETS["seed"].config
    assert "2,000 training images held out for calibration" in training_script(PRESETS["seed"].spec, seed)
    assert "Not reproduced here" not in training_script(PRESETS["seed"].spec, replace(seed, holdout=0))
    consistent = replace(seed, holdout=0, noise=0.05, consistency=12.0)
    assert "consistency loss between each photo-augmented image and its plain view (weight 12)" in \
        training_script(PRESETS["seed"].spec, consistent)
    apart = replace(seed, holdout=0, noise=0.05, photo_share=0.2, photo_apart=True)
    assert "on only 20% of each batch, each on a share of its own" in training_script(PRESETS["seed"].spec, apart)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_the_exported_net_is_the_engines_model(preset):
    """Same modules, same trainable parameters and the same outputs on the engine's own weights, in training and
    evaluation mode, for every preset: the exported file is generated from the engine's code, so it cannot drift."""
    import torch

    from core.models.modules import WhiteningConv
    from core.models.spec import build_model

    spec = PRESETS[preset].spec
    namespace = {}
    exec(compile(to_python(spec), "net.py", "exec"), namespace)
    exported, engine = namespace["Net"](), build_model(spec, seed=0)
    for m in engine.modules():
        if isinstance(m, WhiteningConv):  # data-dependent in the engine; any fixed values will do here
            m.weight.normal_()
    exported.load_state_dict(engine.state_dict(), strict=True)
    trainable = [name for name, p in engine.named_parameters() if p.requires_grad]
    assert [name for name, p in exported.named_parameters() if p.requires_grad] == trainable
    x = torch.randn(8, 3, 32, 32)
    for mode in (True, False):
        exported.train(mode), engine.train(mode)
        assert torch.allclose(exported(x), engine(x), atol=1e-5), f"outputs differ in {'train' if mode else 'eval'} mode"


def test_a_fresh_exported_net_starts_as_the_engine_does_where_the_recipe_says_so():
    import torch

    spec = PRESETS["fast"].spec
    namespace = {}
    exec(compile(to_python(spec), "net.py", "exec"), namespace)
    net = namespace["Net"]()
    conv = net[2]  # the first identity-initialised conv of the fast preset
    assert torch.equal(conv.weight[:conv.in_channels, :, 1, 1], torch.eye(conv.in_channels))
    assert not net[4].weight.requires_grad and net[4].bias.requires_grad  # BatchNorm: shift only


def test_the_exported_schedule_is_the_engines():
    from core.training.config import SCHEDULES
    from core.training.schedule import schedule_factor

    text = training_script(PRESETS["fast"].spec, PRESETS["fast"].config)
    namespace = {}
    exec(compile(text.split("\ndef loaders(")[0], "train.py", "exec"), namespace)
    for schedule in SCHEDULES:
        for progress in (0.0, 0.1, 0.23, 0.5, 0.99):
            assert namespace["schedule_factor"](schedule, progress) == schedule_factor(schedule, progress)


@pytest.mark.parametrize("preset, optimizer", [("seed", None), ("tutorial", None), ("seed", "muon"),
                                               ("tutorial", "muon")])
def test_the_exported_script_trains_to_the_same_losses_as_the_engine(preset, optimizer):
    """From the same weights on the same batches, the script's steps and the engine's give the same losses: for the
    presets whose whole recipe the script reproduces (no Lookahead, no BatchNorm-shift scale, no whitening)."""
    import torch
    from torch import nn

    from core.data.batches import normalize
    from core.models.spec import build_model
    from core.training.optim import make_optimizer
    from core.training.schedule import schedule_factor
    from core.training.train import train_step

    spec, config = PRESETS[preset].spec, replace(PRESETS[preset].config, lr=0.01, schedule="onecycle")
    config = replace(config, optimizer=optimizer or config.optimizer)
    namespace = {"__name__": "train"}
    exec(compile(training_script(spec, config), "train.py", "exec"), namespace)
    engine = build_model(spec, seed=0)
    script_net = namespace["Net"]()
    script_net.load_state_dict(engine.state_dict())
    script_opt, engine_opt = namespace["make_optimizer"](script_net), make_optimizer(engine, config)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    g = torch.Generator().manual_seed(0)
    for step in range(5):
        images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=g)
        labels = torch.randint(0, 10, (8,), generator=g)
        x, progress = normalize(images), step / 5
        for group in engine_opt.param_groups:
            group["lr"] = config.lr * schedule_factor(config.schedule, progress) * group["lr_scale"]
        _, engine_loss = train_step(engine, engine_opt, loss_fn, x, labels, torch.device("cpu"), None)
        script_loss = namespace["train_step"](script_net, script_opt, x, labels, progress)
        assert float(script_loss.detach()) == pytest.approx(float(engine_loss.detach()), abs=1e-5), f"step {step}"
