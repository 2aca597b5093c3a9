"""Muon on the conv filters, SGD on the rest: the update lands in the weights whatever their memory layout, the
groups split as airbench94_muon splits them, and a run with it learns like any other."""
from dataclasses import replace

import pytest
import torch
from torch import nn

from core.models.layers import Flatten, Linear
from core.models.spec import ModelSpec, build_model
from core.training.config import TrainConfig
from core.training.muon import MuonWithSGD
from core.training.optim import LR_SCALE, make_optimizer
from core.training.presets import PRESETS
from core.training.train import fit
from tests.test_train import SMALL


@pytest.mark.parametrize("channels_last", [False, True])
def test_a_conv_filters_update_is_torchs_muon_on_its_matrix_in_either_layout(channels_last):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 8, 3)
    if channels_last:
        conv = conv.to(memory_format=torch.channels_last)
    before = conv.weight.detach().clone()
    options = {"lr": 0.1, "momentum": 0.6, "nesterov": True, "weight_decay": 0.01}
    optimizer = MuonWithSGD([conv.weight], options, [{"params": [conv.bias]}], {"lr": 0.1})
    conv(torch.randn(2, 4, 8, 8)).square().mean().backward()
    grad = conv.weight.grad.clone()
    optimizer.step()
    reference = nn.Parameter(before.reshape(8, -1).clone())
    reference.grad = grad.reshape(8, -1)
    torch.optim.Muon([reference], **options).step()
    assert torch.allclose(conv.weight.detach().reshape(8, -1), reference.detach(), atol=1e-5)
    assert not torch.equal(conv.bias.detach(), torch.zeros(8))  # SGD moved the rest


def test_muon_takes_the_conv_filters_at_its_own_rate_and_sgd_everything_else():
    config = replace(PRESETS["fast"].config, optimizer="muon")
    model = build_model(PRESETS["fast"].spec, seed=0)
    optimizer = make_optimizer(model, config)
    muon, *rest = optimizer.param_groups
    filters = [p for p in model.parameters() if p.requires_grad and p.ndim == 4]
    assert len(muon["params"]) == len(filters) and all(p.ndim == 2 for p in muon["params"])
    assert muon[LR_SCALE] * config.lr == pytest.approx(config.muon_lr)
    others = [p for g in rest for p in g["params"]]
    assert len(others) == sum(p.requires_grad and p.ndim != 4 for p in model.parameters())


def test_a_run_with_muon_learns_and_the_same_seed_repeats_it(tiny_dataset):
    config = TrainConfig(epochs=3, batch_size=10, lr=0.05, muon_lr=0.05, optimizer="muon", schedule="constant",
                         device="cpu")
    a, b = fit(SMALL, tiny_dataset, config), fit(SMALL, tiny_dataset, config)
    assert a.status == "finished" and a.epochs[-1].train_loss < a.epochs[0].train_loss
    assert a.epochs[-1].train_loss == b.epochs[-1].train_loss


def test_a_model_without_convolutions_trains_under_muon_as_plain_sgd(tiny_dataset):
    spec = ModelSpec((Flatten(), Linear(10)), name="linear")
    config = TrainConfig(epochs=1, batch_size=10, optimizer="muon", device="cpu")
    assert fit(spec, tiny_dataset, config).status == "finished"
