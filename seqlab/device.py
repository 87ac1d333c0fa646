"""Device choice and seeding. Introduced in chapter 1."""
from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or the environment variable ``SEQLAB_DEVICE``) forces a choice, e.g. ``"cpu"``
    to reproduce CPU numbers on a GPU machine. Asking for a device that is not available raises
    a ``RuntimeError`` rather than silently falling back.
    """
    choice = prefer or os.environ.get("SEQLAB_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but torch.cuda.is_available() is False")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("MPS was requested but torch.backends.mps.is_available() is False")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_seed(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) for reproducible runs."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
