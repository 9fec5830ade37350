"""Device choice, mixed precision, and memory readings."""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import torch


# torch's own choice of CPU threads (one per core), read before anything changes it. A thread that
# trains or generates sets its own count (torch keeps one per thread, and new threads start from the
# last count set anywhere), so work started after a generation took its share still gets every core.
CPU_THREADS = torch.get_num_threads()


def use_cpu_threads(count: int | None = None) -> None:
    """Let torch work on the calling thread with ``count`` CPU threads (default: every core)."""
    torch.set_num_threads(max(1, int(count or CPU_THREADS)))


class DeviceError(ValueError):
    """The requested device cannot be used here. The message says which to use instead."""


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """"auto" picks CUDA, then Apple MPS, then CPU; a named device must be available."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("Device 'cuda' was asked for, but no NVIDIA GPU is usable here. Use --device auto or cpu.")
    if name == "mps" and not _mps_available():
        raise DeviceError("Device 'mps' was asked for, but Apple's GPU is not available here. Use --device auto or cpu.")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise DeviceError(f"Device {name!r} is not known. Use one of: auto, cpu, cuda, mps.")
    return torch.device(name)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True on CPUs with AMX or AVX-512 BF16, where bf16 matmul beats fp32 by far."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def choose_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """The compute dtype for autocast: bf16 where it is fast and supported, else fp32."""
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    return torch.float32  # MPS: fp32 is the safe, well-supported path


def autocast(device: torch.device, dtype: torch.dtype):
    """Autocast context for ``dtype`` on ``device`` (a no-op for fp32)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def device_memory_gb(device: torch.device) -> float:
    """Memory the framework holds on the device, in GB (process RSS on CPU)."""
    if device.type == "cuda":
        return torch.cuda.memory_allocated(device) / 1e9
    if device.type == "mps":
        return torch.mps.current_allocated_memory() / 1e9
    return _rss_gb()


def _rss_gb() -> float:
    """Resident memory of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e9
    except (OSError, ValueError, AttributeError):
        return 0.0
