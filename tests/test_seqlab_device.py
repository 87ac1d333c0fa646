import random

import numpy as np
import pytest
import torch

from seqlab.device import get_device, in_colab, set_seed


def test_get_device_prefers_available_and_honours_override(monkeypatch):
    monkeypatch.delenv("SEQLAB_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert get_device().type == expected
    assert get_device("cpu").type == "cpu"
    monkeypatch.setenv("SEQLAB_DEVICE", "cpu")
    assert get_device().type == "cpu"


def test_get_device_refuses_unavailable_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):
        get_device("cuda")


def test_set_seed_makes_all_generators_repeat():
    set_seed(5)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_seed(5)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_in_colab_false_here():
    assert in_colab() is False
