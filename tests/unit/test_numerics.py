"""CPU-kernel pins: set where unset, never overridden, x86-64 only, in force in a fresh process."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from emorepro.numerics import CPU_KERNEL_PINS, cpu_kernels, pin_cpu_kernels


def test_pins_fill_only_unset_variables() -> None:
    env = {"MKL_CBWR": "COMPATIBLE"}
    pin_cpu_kernels(env, machine="x86_64")
    assert env == {
        "MKL_CBWR": "COMPATIBLE",
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    }


@pytest.mark.parametrize("machine", ["aarch64", "arm64", "ppc64le"])
def test_no_pins_off_x86(machine: str) -> None:
    env: dict[str, str] = {}
    pin_cpu_kernels(env, machine=machine)
    assert env == {}


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return " avx2" in fh.read()
    except OSError:
        return False


def test_importing_emorepro_first_gives_avx2_kernels_in_torch() -> None:
    """A fresh interpreter without the variables: emorepro, then torch, reports AVX2."""
    env = {k: v for k, v in os.environ.items() if k not in CPU_KERNEL_PINS}
    code = "import emorepro, torch; print(torch.backends.cpu.get_cpu_capability())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    if platform.machine().lower() in {"x86_64", "amd64"} and _has_avx2():
        assert out.stdout.strip() == "AVX2"
    else:
        assert out.stdout.strip() != ""


def test_cpu_kernels_reports_the_pins_in_force() -> None:
    kernels = cpu_kernels()
    assert set(kernels) == {"torch", "mkl_cbwr", "onednn_max_cpu_isa"}
    if platform.machine().lower() in {"x86_64", "amd64"}:
        assert kernels["mkl_cbwr"] == os.environ["MKL_CBWR"]


def test_cpu_identity_reads_vendor_and_model() -> None:
    from emorepro.numerics import cpu_identity

    info = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: avx2\n"
    assert cpu_identity(info) == {"vendor": "AuthenticAMD", "model": "AMD EPYC 7B13"}
    assert cpu_identity("")["vendor"] == "unknown"
