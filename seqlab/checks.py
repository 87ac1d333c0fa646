"""Visible self-checks for exercises. Introduced in chapter 1.

Each check prints one ``✓`` line when it passes and raises ``AssertionError`` with a message a
student can act on when it fails. They are deliberately generic (shapes, closeness,
distributions, gradient flow): the hidden checks that grade an exercise live elsewhere.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch


def _ok(message: str) -> None:
    print(f"✓ {message}")


def check_shape(value, expected: Sequence[int], name: str = "output") -> None:
    """``value`` (tensor or array) has exactly the shape ``expected``."""
    shape = tuple(value.shape)
    if shape != tuple(expected):
        raise AssertionError(f"{name} has shape {shape}, expected {tuple(expected)}")
    _ok(f"{name} has shape {shape}")


def check_close(actual, expected, name: str = "value", rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Numbers, arrays or tensors agree within ``atol + rtol * |expected|``."""
    a = actual.detach().cpu().double().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual, dtype=float)
    e = expected.detach().cpu().double().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise AssertionError(f"{name} has shape {a.shape}, expected {e.shape}")
    if not np.all(np.isfinite(a)):
        raise AssertionError(f"{name} contains NaN or inf: {a}")
    if not np.allclose(a, e, rtol=rtol, atol=atol):
        worst = np.max(np.abs(a - e))
        raise AssertionError(f"{name} = {a if a.size < 10 else '...'}, expected {e if e.size < 10 else '...'} "
                             f"(largest difference {worst:.3g})")
    _ok(f"{name} matches the expected value")


def check_distribution(probs, dim: int = -1, name: str = "probabilities", atol: float = 1e-5) -> None:
    """Every slice along ``dim`` is a probability distribution: entries in [0, 1], sum 1."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    if (p < -atol).any() or (p > 1 + atol).any():
        raise AssertionError(f"{name} has entries outside [0, 1] (min {p.min():.3g}, max {p.max():.3g})")
    sums = p.sum(dim=dim)
    if not torch.allclose(sums, torch.ones_like(sums), atol=atol):
        raise AssertionError(f"{name} do not sum to 1 along dim {dim}: sums range "
                             f"{sums.min():.6f}..{sums.max():.6f}")
    _ok(f"{name} sum to 1")


def check_gradients_flow(model: torch.nn.Module, loss: torch.Tensor) -> None:
    """Backpropagate ``loss`` and check that every parameter of ``model`` gets a non-zero gradient
    (a parameter without one is usually a tensor that was detached or not used)."""
    model.zero_grad(set_to_none=True)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    zero = [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.abs().sum() > 0]
    if missing:
        raise AssertionError(f"no gradient reached: {missing} (is something detached or unused?)")
    if zero:
        raise AssertionError(f"gradient is exactly zero for: {zero}")
    _ok("every parameter receives a non-zero gradient")


def check_raises(fn: Callable[[], object], exception: type[BaseException], name: str = "call") -> None:
    """``fn()`` raises ``exception``."""
    try:
        fn()
    except exception:
        _ok(f"{name} raises {exception.__name__}")
        return
    except Exception as exc:  # noqa: BLE001 - report what was raised instead
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}, expected {exception.__name__}") from exc
    raise AssertionError(f"{name} did not raise {exception.__name__}")
