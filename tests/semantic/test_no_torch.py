"""The installed environment (`pip install -e '.[dev]'`) must not contain PyTorch."""

from __future__ import annotations

import importlib.metadata
import importlib.util

import pytest

HEAVY = ("torch", "sentence_transformers", "transformers")


@pytest.mark.parametrize("module", HEAVY)
def test_module_is_not_importable(module: str) -> None:
    assert importlib.util.find_spec(module) is None, f"{module} is installed in this venv"


def test_no_installed_distribution_is_torch_or_cuda() -> None:
    names = {(d.metadata["Name"] or "").lower() for d in importlib.metadata.distributions()}
    assert "semantic-router" in names  # the aurelio comparison is installed ...
    assert "onnxruntime" in names  # ... and so is the local encoder's runtime
    heavy = sorted(n for n in names if n == "torch" or n.startswith(("nvidia-", "triton")))
    assert not heavy, f"PyTorch/CUDA distributions installed: {heavy}"
