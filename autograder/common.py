"""Helpers shared by the hidden-check modules (``autograder/aNN_*.py``)."""
from __future__ import annotations

import functools
import warnings

import torch


def quiet(check):
    """Run ``check`` with warnings silenced: nbgrader scores a test cell 0 on any stderr output,
    and a deprecation warning raised inside a student's (otherwise correct) code is no mistake."""
    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check(*args, **kwargs)
    return wrapper


def extra_device() -> torch.device | None:
    """The accelerator a student's notebook would use (CUDA or MPS), or None on a CPU-only machine."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return None
