"""Whether this CPU has bf16 matrix units that torch uses: what `precision: auto` picks on a CPU.

AMX (Sapphire Rapids and later Xeons) and AVX-512 BF16 (Cooper Lake, Zen 4 and later) run bf16
matmuls several times faster than fp32. Without them torch still computes in bf16, but through
slow reference kernels (on an AVX2 EPYC a bf16 matmul measured ~15x slower than fp32), so such a
CPU keeps fp32. Both the flags and torch's own oneDNN check must agree.

`STUDIO_CPU_BF16=off` keeps fp32 on any CPU (to reproduce fp32 figures exactly); the test suite
sets it, because its numerical checks are fp32 ones."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Flag (as /proc/cpuinfo names it) -> the unit's name in logs and job records.
BF16_UNITS = {"amx_bf16": "AMX", "avx512_bf16": "AVX-512 BF16"}
SETTING = "STUDIO_CPU_BF16"


@dataclass(frozen=True)
class CpuPrecision:
    """The precision `auto` resolves to on this CPU, and why (logged and stored on the job)."""

    bf16: bool
    reason: str


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The feature flags of the first processor in /proc/cpuinfo (empty where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, arm
            return set(value.split())
    return set()


def torch_bf16_kernels() -> bool:
    """torch's own answer: does its oneDNN build run bf16 matmuls on this CPU's units?"""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cpu_precision(
    flags: set[str] | None = None,
    kernels: bool | None = None,
    setting: str | None = None,
) -> CpuPrecision:
    """bf16 where the CPU has a bf16 unit and torch uses it, fp32 otherwise; arguments default
    to this machine (tests pass their own)."""
    setting = (os.environ.get(SETTING, "auto") if setting is None else setting).strip().lower()
    if setting in ("off", "0", "false", "no"):
        return CpuPrecision(False, f"fp32: bf16 turned off by {SETTING}={setting}")
    flags = cpu_flags() if flags is None else flags
    units = [name for flag, name in BF16_UNITS.items() if flag in flags]
    if not units:
        return CpuPrecision(False, "fp32: this CPU has no bf16 matrix unit (AMX or AVX-512 BF16)")
    kernels = torch_bf16_kernels() if kernels is None else kernels
    if not kernels:
        return CpuPrecision(
            False, f"fp32: the CPU has {' and '.join(units)}, but this torch build does not use it"
        )
    return CpuPrecision(True, f"bf16: the CPU has {' and '.join(units)}")


def describe_cpu(cpuinfo: str | None = None) -> str:
    """One line for benchmark output: the CPU model (with its x86 family and model numbers, which
    tell generations apart where the name does not: "AMD EPYC" is Zen 4 at family 25, Zen 5 at
    26), its matrix-relevant flags, and whether it has bf16 units (figures from different machines
    of one kind differ several-fold)."""
    from .estimate import _cpu_name

    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
        fallback = _cpu_name()
    else:
        fallback = "unknown CPU"
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", fallback)
    if fields.get("cpu family") and fields.get("model"):
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    flags = cpu_flags(cpuinfo)
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    units = [unit for flag, unit in BF16_UNITS.items() if flag in flags]
    return (
        f"{name}; flags {' '.join(shown) or 'none of avx2/avx512/amx'}; "
        f"bf16 units: {' and '.join(units) or 'none'}"
    )
