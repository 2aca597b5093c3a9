"""Training FLOPs, counted by torch's FLOP counter (torch.utils.flop_counter) on one real forward and backward pass
at each image size a run trains at: what a recipe costs, so accuracy can be judged per PFLOP."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from core.models.spec import ModelSpec, build_model
from core.training.config import TrainConfig

PROBE_BATCH = 2  # images in the counted pass (FLOPs scale linearly with the batch)


def training_flops_per_image(spec: ModelSpec, size: int = 32) -> float:
    """Forward and backward FLOPs of one training image of side `size` (matrix multiplies and convolutions, as
    the counter counts them; elementwise work is not counted)."""
    model = build_model(spec, seed=0).train()
    x = torch.randn(PROBE_BATCH, 3, size, size)
    with FlopCounterMode(display=False) as counter:
        model(x).float().logsumexp(1).sum().backward()
    return counter.get_total_flops() / PROBE_BATCH


def training_flops(spec: ModelSpec, config: TrainConfig, images_per_epoch: int) -> float:
    """FLOPs of a whole run: every epoch's images at the size that epoch trains at (progressive resizing's early
    epochs at their crop size). Evaluation is not counted."""
    full = training_flops_per_image(spec)
    early = training_flops_per_image(spec, config.early_size) if config.early_epochs else 0.0
    epochs_early = min(config.early_epochs, config.epochs)
    return images_per_epoch * (epochs_early * early + (config.epochs - epochs_early) * full)
