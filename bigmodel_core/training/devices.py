"""Devices: what really exists here (CPU, each CUDA GPU, Apple MPS), and the one place to pick one."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

from ..errors import DeviceError, TrainingError, msg


def list_devices() -> list[dict]:
    """Devices present on this machine, best first after 'auto'; each {id, name, detail}."""
    out = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append({"id": f"cuda:{i}", "name": props.name,
                        "detail": msg("engine.devices.gpu_memory", "{gb:.0f} GB GPU memory",
                                      gb=props.total_memory / 2**30)})
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append({"id": "mps", "name": msg("engine.devices.mps", "Apple GPU (MPS)"),
                    "detail": msg("engine.devices.shared_memory", "shared memory")})
    out.append({"id": "cpu", "name": "CPU", "detail": msg("engine.devices.cores", "{n} cores", n=available_cores())})
    return [{"id": "auto", "name": msg("engine.devices.auto", "Automatic ({name})", name=out[0]["name"]),
             "detail": msg("engine.devices.auto.detail", "the best device here")}] + out


def resolve_device(name: str = "auto") -> torch.device:
    """The torch.device for 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; a plain error if it is missing."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        try:
            index = int(name.split(":")[1]) if ":" in name else 0
        except ValueError:
            raise DeviceError(msg("errors.devices.bad_name", "'{name}' is not a device name.", name=name),
                              msg("errors.devices.bad_name.hint", "Use auto, cpu, cuda, cuda:N or mps.")) from None
        if not torch.cuda.is_available():
            raise DeviceError(msg("errors.devices.no_cuda", "There is no CUDA GPU on this computer."),
                              msg("errors.devices.auto_or_cpu.hint", "Choose 'auto' or 'cpu' as the device."))
        if index >= torch.cuda.device_count():
            raise DeviceError(msg("errors.devices.no_gpu_n", "There is no GPU number {index}; this computer has {n}.",
                                  index=index, n=torch.cuda.device_count()),
                              msg("errors.devices.no_gpu_n.hint",
                                  "Choose one of the GPUs in the device list, or 'auto'."))
        return torch.device(f"cuda:{index}")
    if name == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise DeviceError(msg("errors.devices.no_mps", "There is no Apple GPU (MPS) on this computer."),
                              msg("errors.devices.auto_or_cpu.hint", "Choose 'auto' or 'cpu' as the device."))
        return torch.device("mps")
    raise DeviceError(msg("errors.devices.bad_name", "'{name}' is not a device name.", name=name),
                      msg("errors.devices.bad_name.hint", "Use auto, cpu, cuda, cuda:N or mps."))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS / Windows
        return os.cpu_count() or 1


def choose_threads(running_jobs: int = 1, requested: int | None = None, processes: int = 1) -> int:
    """Threads for one CPU training process.

    On small machines the Streamlit server and the browser share the cores with training, and
    torch's spinning worker threads then fight them (one thread beat two on 2 cores: BENCHMARKS.md
    section 8). So: leave one core free when there are few, and split the rest between jobs, and
    between the `processes` of a data-parallel job on this machine (torchrun would give each one).
    `requested` is per process.
    """
    if requested:
        return max(1, int(requested))
    cores = available_cores()
    spare = cores - 1 if cores <= 4 else cores - 2
    return max(1, spare // (max(1, running_jobs) * max(1, processes)))


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Use `n` intra-op CPU threads inside the block, then restore the count that was set before.

    torch's thread count is process-wide: choosing it in one scoped place keeps loading a model
    for prediction from changing the speed of a training run in the same process.
    """
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


PRECISIONS = ("fp32", "bf16", "fp16")


def precision_problem(precision: str, device: "torch.device | str") -> str | None:
    """Why `device` (a torch.device or a device name) cannot train in `precision` (one plain sentence), or None.

    bf16 autocast runs on CPUs and on CUDA GPUs that support it; fp16 needs a GPU (CUDA, with a
    gradient scaler, or Apple MPS): CPUs have no fast fp16 arithmetic.
    """
    if precision == "fp32":
        return None
    if isinstance(device, str):
        try:
            device = resolve_device(device)
        except DeviceError as exc:
            return exc.message
    if precision == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return msg("engine.devices.no_bf16_gpu", "This GPU has no bf16 arithmetic.")
        if device.type == "mps":
            return msg("engine.devices.no_bf16_mps", "Apple GPUs train in fp16, not bf16.")
        return None
    if precision == "fp16":
        return None if device.type in ("cuda", "mps") else msg(
            "engine.devices.no_fp16_cpu", "A CPU has no fast fp16 arithmetic; fp16 needs a GPU.")
    return msg("engine.devices.bad_precision", "'{precision}' is not a precision (use fp32, bf16 or fp16).",
               precision=precision)


def autocast(precision: str, device: torch.device):
    """The autocast context for training in `precision` on `device` (a no-op for fp32)."""
    from contextlib import nullcontext

    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def compile_problem(device: "torch.device | str") -> str | None:
    """Why torch.compile cannot be used for training on `device` (one plain sentence), or None when it can."""
    import shutil
    import sys

    if isinstance(device, str):
        try:
            device = resolve_device(device)
        except DeviceError as exc:
            return exc.message
    if sys.version_info >= (3, 14) and not hasattr(torch, "compile"):
        return msg("engine.devices.no_compile", "This PyTorch has no torch.compile.")
    if device.type == "cpu" and not any(shutil.which(c) for c in ("g++", "c++", "clang++", "cl")):
        return msg("engine.devices.no_compiler", "torch.compile needs a C++ compiler on this computer, and none was "
                   "found.")
    return None


@contextmanager
def compile_errors_as_plain(active: bool) -> Iterator[None]:
    """A model torch.compile cannot compile becomes one plain TrainingError naming why (not a long traceback)."""
    if not active:
        yield
        return
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - dynamo/inductor raise many kinds; only theirs are translated
        if not type(exc).__module__.startswith(("torch._dynamo", "torch._inductor")):
            raise
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise TrainingError(msg("errors.devices.compile_failed", "torch.compile could not compile this model: {error}",
                                error=first),
                            msg("errors.devices.compile_failed.hint", "Train it without compile (compile=false); the "
                                "result is the same, only slower or faster.")) from None
