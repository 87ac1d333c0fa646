"""Numerical gradients, to check gradients written by hand. Introduced in chapter 2.

A central difference ``(f(x + eps) - f(x - eps)) / (2 eps)`` approximates a derivative with an
error of order ``eps**2`` (plus round-off of order ``1e-16 / eps``), so in float64 with
``eps = 1e-6`` a correct analytic gradient agrees with it to about 1e-8 relative error or better;
a wrong one is typically off by 1e-2 or more.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``f`` takes no arguments and reads ``x`` (e.g. a closure over the weights): each entry of
    ``x`` is perturbed in place by ``+eps`` and ``-eps`` and restored afterwards. Returns an array
    of ``x``'s shape. Use float64: in float32 the differences drown in round-off.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array (perturbed in place), got {type(x).__name__}")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat_x.size):
        saved = flat_x[i]
        flat_x[i] = saved + eps
        f_plus = float(f())
        flat_x[i] = saved - eps
        f_minus = float(f())
        flat_x[i] = saved
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric) -> float:
    """``max |analytic - numeric| / max(max |analytic|, max |numeric|)``: the largest difference
    relative to the largest entry, so tiny entries (close to zero in both) do not blow it up.
    0.0 when both are all zeros."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {n.shape}")
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(n), initial=0.0))
    return 0.0 if scale == 0 else float(np.max(np.abs(a - n)) / scale)
