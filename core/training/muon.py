"""Muon on the conv filters, Nesterov SGD on everything else, as airbench94_muon splits them: torch.optim.Muon
orthogonalises each filter bank's update (its 4-D weight seen as a matrix, one row per output channel), which takes
fewer steps to the same accuracy; BatchNorm, biases and the linear head keep plain SGD."""
from __future__ import annotations

import torch
from torch import nn


def matrix_view(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """A conv weight (out, in, kh, kw) as an (out, in*kh*kw) matrix, sharing its memory where its layout allows (else
    a copy, for a gradient): columns ordered (in, kh, kw), or with `channels_last` (kh, kw, in), the order that
    layout keeps in memory. Muon's orthogonalised update is indifferent to the order of the columns, as long as the
    weight and its gradient share it."""
    if channels_last:
        t = t.permute(0, 2, 3, 1)
    return t.reshape(t.shape[0], -1)


def is_channels_last(t: torch.Tensor) -> bool:
    return not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)


class MuonWithSGD:
    """One optimizer to the training loop: `filters` (4-D conv weights) by torch.optim.Muon, each through a matrix view
    of its own memory, and `sgd_groups` by torch.optim.SGD. param_groups lists both, so a schedule that sets every
    group's rate (core.training.optim.set_learning_rate) drives both."""

    def __init__(self, filters: list[nn.Parameter], muon_options: dict, sgd_groups: list[dict], sgd_options: dict):
        self.filters, self.layouts = filters, [is_channels_last(p) for p in filters]
        self.views = [nn.Parameter(matrix_view(p.data, last)) for p, last in zip(filters, self.layouts)]
        for p, v in zip(filters, self.views):  # the update must land in the weight itself
            assert v.data_ptr() == p.data_ptr(), "a conv weight Muon cannot see as a matrix in place"
        group = {k: v for k, v in muon_options.items() if k not in ("momentum", "nesterov", "weight_decay")}
        options = {k: muon_options[k] for k in ("momentum", "nesterov", "weight_decay") if k in muon_options}
        # a model without convolutions has nothing for Muon: all of it is SGD's
        self.muon = torch.optim.Muon([{"params": self.views, **group}], **options) if filters else None
        self.sgd = torch.optim.SGD(sgd_groups, **sgd_options) if sgd_groups else None
        self.parts = [o for o in (self.muon, self.sgd) if o is not None]
        self.param_groups = [g for o in self.parts for g in o.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p, v in zip(self.filters, self.views):
            p.grad = v.grad = None
        if self.sgd:
            self.sgd.zero_grad(set_to_none)

    @torch.no_grad()
    def step(self) -> None:
        for p, v, last in zip(self.filters, self.views, self.layouts):
            if p.grad is not None:
                v.grad = matrix_view(p.grad, last)
        for part in self.parts:
            part.step()

    def state_dict(self) -> list[dict]:
        return [part.state_dict() for part in self.parts]

    def load_state_dict(self, state: list[dict]) -> None:
        for part, saved in zip(self.parts, state):
            part.load_state_dict(saved)
