"""Optimizers and their parameter groups. Every group carries LR_SCALE, its multiplier on the scheduled learning rate,
so one loop sets every optimizer's rates the same way (core.training.loop)."""
from __future__ import annotations

import torch
from torch import nn

from core import recipe
from core.training.config import TrainConfig
from core.training.muon import MuonWithSGD

LR_SCALE = "lr_scale"  # a parameter group's learning rate is the scheduled rate times this


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Weights decay; other vectors do not, except BatchNorm shifts under lr_bias_scale (airbench's recipe keeps
    their per-step decay equal to the weights'). Each group's LR_SCALE multiplies the scheduled rate."""
    norm_shifts = {id(m.bias) for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.bias is not None}
    trainable = [p for p in model.parameters() if p.requires_grad]
    weights = [p for p in trainable if p.ndim > 1]
    shifts = [p for p in trainable if id(p) in norm_shifts]
    others = [p for p in trainable if p.ndim <= 1 and id(p) not in norm_shifts]
    scale = config.lr_bias_scale
    groups = [
        {"params": weights, "weight_decay": config.weight_decay, LR_SCALE: 1.0},
        {"params": others, "weight_decay": 0.0, LR_SCALE: 1.0},
        {"params": shifts, "weight_decay": config.weight_decay / scale if scale > 1 else 0.0, LR_SCALE: scale},
    ]
    groups = [g for g in groups if g["params"]]
    if config.optimizer == "muon":
        return _muon(groups, config)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    betas = (config.momentum, recipe.ADAM_BETA2)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=config.lr, betas=betas)


def _muon(groups: list[dict], config: TrainConfig) -> MuonWithSGD:
    """The conv filters (4-D weights) to Muon at muon_lr; every other group as SGD would have it."""
    filters = [p for p in groups[0]["params"] if p.ndim == 4]
    rest = [{**g, "params": [p for p in g["params"] if p.ndim != 4]} for g in groups]
    muon = {"lr": config.muon_lr, "momentum": config.momentum, "nesterov": config.nesterov,
            "weight_decay": config.weight_decay, LR_SCALE: config.muon_lr / config.lr}
    return MuonWithSGD(filters, muon, [g for g in rest if g["params"]],
                       {"lr": config.lr, "momentum": config.momentum, "nesterov": config.nesterov})


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The scheduled rate `lr` on every group, times the group's own LR_SCALE."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group[LR_SCALE]
