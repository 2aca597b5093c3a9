"""The one place where a device name ('auto', 'cpu', 'cuda', 'mps') becomes a torch.device."""
from __future__ import annotations

import torch

from core.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(UserError):
    pass


def resolve_device(name: str = "auto") -> torch.device:
    if name not in DEVICES:
        raise DeviceError(f"device must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device 'cuda' was asked for, but no CUDA GPU is available here; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("device 'mps' was asked for, but Apple's MPS is not available here; use --device cpu or auto")
    return torch.device(name)


def describe_device(name: str = "auto") -> str:
    """For people: 'NVIDIA H100 (cuda)' or 'CPU, 2 threads'."""
    device = resolve_device(name)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    if device.type == "mps":
        return "Apple GPU (mps)"
    return f"CPU, {torch.get_num_threads()} threads"


def has_fast_bf16(device: torch.device) -> bool:
    """Whether bf16 math runs natively here. CUDA GPUs: yes. CPUs: only with AVX-512 BF16 or AMX; on an AVX2-only
    CPU bf16 autocast was measured 12x slower than fp32 (a conv-net step, batch 512, on a 2-core AMD EPYC)."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # these probes are private to torch; without them, fp32 is the safe choice
        return False
