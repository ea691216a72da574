"""benchmarks/gpu_check.py without a GPU: one line saying so, exit status 2, nothing run or written."""

import subprocess
import sys

import pytest
import torch

from .conftest import ROOT


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: `make gpu-check` runs the check")
def test_gpu_check_refuses_cleanly_without_cuda(tmp_path):
    res = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--out", str(tmp_path / "gpu"),
                          "--json", str(tmp_path / "gpu.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "no CUDA GPU" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "gpu").exists() and not (tmp_path / "gpu.json").exists()
