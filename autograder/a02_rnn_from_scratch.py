"""Hidden checks of assignment a02 (an RNN from scratch in NumPy: step and sequence, forward and
backward).

Each check takes the student's function(s), is deterministic, writes nothing to stdout or stderr,
and raises ``AssertionError`` with a message the student can act on.

What the checks compare with: ``torch.nn.RNNCell`` / ``torch.nn.RNN`` in float64 with the
student's weight convention copied in (``weight_ih = Wx.T``, ``weight_hh = Wh.T``,
``bias_ih = b``, ``bias_hh = 0``), central finite differences of those PyTorch modules (autograd
for a long sequence), and a short training run. No NumPy reference solution is used.

Properties rather than single values: several sizes (B = 1, T = 1, H = D = 1, D != H), a long
sequence (T = 300 forward, 200 backward), pre-activations of several hundred (tanh saturates; an
exp-based tanh overflows), nearly saturated states in the backward pass, a gradient that arrives
only at the last step, a zero upstream gradient (every gradient exactly 0), and no input modified
in place (every function is called on copies that are compared afterwards).

One mistake costs points in one place where that is fair: the backward checks build their caches
themselves, following the cache layout the notebook prescribes (``(x, h_prev, h_next, Wx, Wh)``
per step, a list of them for the sequence), from ``nn.RNN``'s states. So a wrong
``rnn_step_forward`` does not also fail the backward checks. ``rnn_forward`` naturally calls the
student's ``rnn_step_forward`` and ``rnn_backward`` their ``rnn_step_backward``, so a mistake in a
step function also costs the points of the sequence function that uses it. The training check
uses everything the student wrote.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from autograder.common import quiet

# Relative error allowed between a student's gradient and central differences (float64,
# eps = 1e-6): a correct gradient is at about 1e-9, the mistakes in the catalogue at 1e-2 or more.
GRAD_TOLERANCE = 1e-6
# Absolute difference allowed between a student's states and nn.RNN's (float64): rounding only.
STATE_TOLERANCE = 1e-10
EPS = 1e-6


# ============================================================================ helpers

def _random_case(seed: int, B: int, T: int | None, D: int, H: int) -> dict[str, np.ndarray]:
    """Float64 inputs of one case: x is (B, D) when T is None (one step), else (B, T, D)."""
    rng = np.random.default_rng(seed)
    x_shape = (B, D) if T is None else (B, T, D)
    return {"x": rng.normal(size=x_shape), "h0": rng.normal(0, 0.5, size=(B, H)),
            "Wx": rng.normal(0, 0.6, size=(D, H)), "Wh": rng.normal(0, 0.6, size=(H, H)),
            "b": rng.normal(0, 0.3, size=H)}


def _torch_rnn(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All hidden states of ``nn.RNN`` (float64, batch first) with the notebook's weights copied in:
    x (B, T, D), h0 (B, H) -> (B, T, H). A 2-D x (B, D) is one step and gives (B, H)."""
    one_step = x.ndim == 2
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(Wx.T))
        rnn.weight_hh_l0.copy_(torch.tensor(Wh.T))
        rnn.bias_ih_l0.copy_(torch.tensor(b))
        rnn.bias_hh_l0.zero_()
        xt = torch.tensor(x[:, None] if one_step else x)
        states, _ = rnn(xt, torch.tensor(h0)[None])
    states = states.numpy()
    return states[:, 0] if one_step else states


def _copy(arg):
    if isinstance(arg, tuple):
        return tuple(a.copy() for a in arg)
    if isinstance(arg, list):
        return [tuple(a.copy() for a in step) for step in arg]
    return arg.copy()


def _unchanged(original, given) -> bool:
    if isinstance(original, (tuple, list)):
        return len(original) == len(given) and all(_unchanged(o, g) for o, g in zip(original, given))
    return np.array_equal(original, given)


def _call(fn: Callable, name: str, arg_names: tuple[str, ...], *args):
    """Call a student's function on copies of ``args`` (our arrays stay safe); an exception becomes
    an AssertionError that says which call failed, and so does an input modified in place (a
    caller, e.g. autograd, may still need it)."""
    copies = [_copy(arg) for arg in args]
    try:
        result = fn(*copies)
    except Exception as exc:  # noqa: BLE001 - report any error as a failed check
        shapes = ", ".join(str(getattr(a, "shape", f"list of {len(a)}")) for a in args)
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc} (called with shapes {shapes})") from exc
    for arg_name, original, given in zip(arg_names, args, copies):
        if not _unchanged(original, given):
            raise AssertionError(f"{name} modified its argument {arg_name} in place; it must leave its inputs "
                                 f"unchanged (e.g. write da = dh_next * (...), not dh_next *= ..., and do not "
                                 f"add into dh[:, t]): the caller may still need them")
    return result


def _array(value, what: str, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} must be a NumPy array, got a torch.Tensor (use NumPy operations only)")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} must be a NumPy array, got {type(value).__name__}") from None
    if array.shape != shape:
        hint = ""
        if what.startswith("db") and array.shape[-1:] == shape and array.ndim == 2:
            hint = " (the bias gradient must be summed over the batch dimension)"
        raise AssertionError(f"{what} has shape {array.shape}, expected {shape}{hint}")
    if not np.all(np.isfinite(array)):
        raise AssertionError(f"{what} contains NaN or inf")
    return array


def _tuple(result, n: int, name: str, names: str) -> tuple:
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = f"a {type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list)) \
            else type(result).__name__
        raise AssertionError(f"{name} must return a tuple {names}, got {got}")
    return tuple(result)


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(np.max(np.abs(analytic), initial=0.0), np.max(np.abs(numeric), initial=0.0))
    return 0.0 if scale == 0 else float(np.max(np.abs(analytic - numeric)) / scale)


def _numerical_gradients(case: dict[str, np.ndarray], upstream: np.ndarray) -> dict[str, np.ndarray]:
    """Central differences of L = sum(nn.RNN(x, h0) * upstream) w.r.t. every array of ``case``."""
    loss = lambda: float(np.sum(_torch_rnn(**case) * upstream))
    grads = {}
    for name, array in case.items():
        grad = np.zeros_like(array)
        flat, flat_grad = array.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + EPS
            plus = loss()
            flat[i] = saved - EPS
            minus = loss()
            flat[i] = saved
            flat_grad[i] = (plus - minus) / (2 * EPS)
        grads[name] = grad
    return grads


_GRAD_HINTS = {
    "x": "dx = da @ Wx.T, with da the gradient after tanh",
    "h0": "the gradient into the previous state is da @ Wh.T; over a sequence it must flow back to h0",
    "Wx": "dWx = x.T @ da (summed over time steps for a sequence)",
    "Wh": "dWh multiplies da by the state that went INTO the step (h_prev), summed over time steps",
    "b": "db sums da over the batch (and over time steps for a sequence)",
}


def _compare_gradients(student: dict[str, np.ndarray], numeric: dict[str, np.ndarray], fn: str,
                       sizes: str) -> None:
    errors = {name: _relative_error(student[name], numeric[name]) for name in numeric}
    bad = {name: err for name, err in errors.items() if err > GRAD_TOLERANCE}
    if bad:
        name = max(bad, key=bad.get)
        if len(bad) == len(errors):
            hint = "every gradient is off: check the tanh derivative, da = dh * (1 - h_next ** 2)"
        else:
            hint = _GRAD_HINTS[name]
        raise AssertionError(
            f"{fn}: gradients disagree with finite differences ({sizes}); relative errors "
            + ", ".join(f"d{k if k != 'h0' else 'h_prev/h0'} {v:.1e}" for k, v in errors.items())
            + f" (must be < {GRAD_TOLERANCE:g}). Largest: d{name}. Hint: {hint}")


# ============================================================================ one step

_STEP_SIZES = [(1, 3, 4), (5, 4, 4), (3, 6, 2), (4, 2, 5), (2, 1, 1)]  # (B, D, H): D == H, D != H, B = 1, H = 1
# Inputs scaled by this factor drive the pre-activations to |a| of several hundred: tanh saturates
# at +-1, where exp(2a) overflows (a tanh written with np.exp returns NaN there).
_SATURATING = 300.0


@quiet
def check_rnn_step_forward(rnn_step_forward: Callable) -> None:
    """h_next equals nn.RNNCell's output (float64, weights copied: weight_ih = Wx.T, weight_hh =
    Wh.T) for several (B, D, H); the cache is (x, h_prev, h_next, Wx, Wh); inputs unchanged."""
    cases = [(seed, size, 1.0) for seed, size in enumerate(_STEP_SIZES)] + [(len(_STEP_SIZES), (3, 4, 5), _SATURATING)]
    for seed, (B, D, H), scale in cases:
        c = _random_case(100 + seed, B, None, D, H)
        c["x"] = scale * c["x"]
        args = (c["x"], c["h0"], c["Wx"], c["Wh"], c["b"])
        originals = [a.copy() for a in args]
        try:
            result = rnn_step_forward(*args)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"rnn_step_forward raised {type(exc).__name__}: {exc} with x {(B, D)}, "
                                 f"h_prev {(B, H)}, Wx {(D, H)}, Wh {(H, H)}, b {(H,)}") from exc
        assert all(np.array_equal(a, o) for a, o in zip(args, originals)), \
            "rnn_step_forward must not modify its inputs (no in-place operations on x, h_prev or the weights)"
        h_next, cache = _tuple(result, 2, "rnn_step_forward", "(h_next, cache)")
        if scale != 1.0 and not np.all(np.isfinite(np.asarray(h_next, dtype=np.float64))):
            raise AssertionError("h_next contains NaN or inf for large pre-activations (|x @ Wx + h_prev @ Wh + b| "
                                 "of several hundred), where tanh is simply +-1: use np.tanh, not a formula with "
                                 "np.exp that overflows")
        h_next = _array(h_next, f"h_next (B={B}, D={D}, H={H})", (B, H))
        expected = _torch_rnn(*args)
        if not np.allclose(h_next, expected, rtol=0, atol=STATE_TOLERANCE):
            transposed = _torch_rnn(c["x"], c["h0"], c["Wx"], c["Wh"].T, c["b"])
            hint = " It equals the result with Wh transposed: the convention is h_prev @ Wh, Wh of shape " \
                   "(H, H) with one ROW per unit of h_prev." if np.allclose(h_next, transposed, atol=1e-8) else \
                   " Compute tanh(x @ Wx + h_prev @ Wh + b)."
            raise AssertionError(f"h_next differs from torch.nn.RNNCell with the same weights by up to "
                                 f"{np.max(np.abs(h_next - expected)):.2e} (B={B}, D={D}, H={H}).{hint}")
        cache = _tuple(cache, 5, "rnn_step_forward's cache", "(x, h_prev, h_next, Wx, Wh)")
        for name, got, want in zip(("x", "h_prev", "h_next", "Wx", "Wh"), cache, (*args[:2], expected, *args[2:4])):
            got = _array(got, f"cache entry {name}", want.shape)
            assert np.allclose(got, want, rtol=0, atol=STATE_TOLERANCE), \
                f"the cache must be the tuple (x, h_prev, h_next, Wx, Wh) in this order; its entry for " \
                f"{name} holds other values"


@quiet
def check_rnn_step_backward(rnn_step_backward: Callable) -> None:
    """dx, dh_prev, dWx, dWh, db equal central differences of nn.RNNCell (float64, relative error
    < 1e-6) for several (B, D, H), given a cache (x, h_prev, h_next, Wx, Wh) built from nn.RNNCell."""
    for seed, (B, D, H) in enumerate(_STEP_SIZES):
        c = _random_case(200 + seed, B, None, D, H)
        if seed == 1:
            c["Wx"], c["Wh"] = 4 * c["Wx"], 4 * c["Wh"]          # many units near saturation (|h| close to 1)
        h_next = _torch_rnn(**c)
        dh_next = np.random.default_rng(300 + seed).normal(size=(B, H))
        cache = (c["x"], c["h0"], h_next, c["Wx"], c["Wh"])
        result = _call(rnn_step_backward, "rnn_step_backward", ("dh_next", "cache"), dh_next, cache)
        result = _tuple(result, 5, "rnn_step_backward", "(dx, dh_prev, dWx, dWh, db)")
        shapes = {"x": (B, D), "h0": (B, H), "Wx": (D, H), "Wh": (H, H), "b": (H,)}
        names = {"x": "dx", "h0": "dh_prev", "Wx": "dWx", "Wh": "dWh", "b": "db"}
        student = {k: _array(v, names[k], shapes[k]) for k, v in zip(shapes, result)}
        _compare_gradients(student, _numerical_gradients(c, dh_next), "rnn_step_backward",
                           f"B={B}, D={D}, H={H}")
    # No gradient arriving means no gradient anywhere (a degenerate input: nothing to propagate).
    c = _random_case(299, 2, None, 3, 4)
    cache = (c["x"], c["h0"], _torch_rnn(**c), c["Wx"], c["Wh"])
    result = _tuple(_call(rnn_step_backward, "rnn_step_backward", ("dh_next", "cache"), np.zeros((2, 4)), cache),
                    5, "rnn_step_backward", "(dx, dh_prev, dWx, dWh, db)")
    for name, got, shape in zip(("dx", "dh_prev", "dWx", "dWh", "db"), result, ((2, 3), (2, 4), (3, 4), (4, 4), (4,))):
        assert np.all(_array(got, name, shape) == 0), \
            f"with dh_next = 0 every gradient must be exactly 0, but {name} is not"


# ============================================================================ the whole sequence

_SEQ_SIZES = [(1, 1, 3, 4), (2, 5, 3, 4), (4, 7, 6, 2), (3, 2, 5, 5)]  # (B, T, D, H)
_LONG = (2, 300, 3, 6)   # a long sequence: (B, T, D, H)


def _forward(rnn_forward: Callable, c: dict[str, np.ndarray], B: int, T: int, H: int):
    result = _call(rnn_forward, "rnn_forward", ("x", "h0", "Wx", "Wh", "b"), c["x"], c["h0"], c["Wx"], c["Wh"], c["b"])
    h, cache = _tuple(result, 2, "rnn_forward", "(h, cache)")
    h = _array(h, f"h (B={B}, T={T}, H={H})", (B, T, H))
    if not isinstance(cache, (list, tuple)) or len(cache) != T:
        raise AssertionError(f"rnn_forward's cache must be a list with one step cache per time step "
                             f"(T={T} entries), got {type(cache).__name__}"
                             + (f" of length {len(cache)}" if isinstance(cache, (list, tuple)) else ""))
    return h, list(cache)


@quiet
def check_rnn_forward_shapes(rnn_forward: Callable) -> None:
    """Batch-first shapes: x (B, T, D), h0 (B, H) -> h (B, T, H) and a list of T step caches, for
    several sizes (T = 1, B = 1, D == H and D != H)."""
    for seed, (B, T, D, H) in enumerate(_SEQ_SIZES):
        c = _random_case(400 + seed, B, T, D, H)
        _, cache = _forward(rnn_forward, c, B, T, H)
        for t, step in enumerate(cache):
            step = _tuple(step, 5, f"cache[{t}]", "(x, h_prev, h_next, Wx, Wh), as rnn_step_forward returns")
            for name, got, shape in zip(("x", "h_prev", "h_next", "Wx", "Wh"), step,
                                        ((B, D), (B, H), (B, H), (D, H), (H, H))):
                _array(got, f"cache[{t}] entry {name}", shape)


@quiet
def check_rnn_forward_matches_torch(rnn_forward: Callable) -> None:
    """Every hidden state equals torch.nn.RNN's output (batch_first, float64, weights copied in,
    non-zero h0), and cache[t] is (x[:, t], h[:, t-1] or h0, h[:, t], Wx, Wh); also for a long
    sequence with strong weights and inputs (saturated states, large pre-activations)."""
    for seed, (B, T, D, H) in enumerate(_SEQ_SIZES + [_LONG]):
        c = _random_case(500 + seed, B, T, D, H)
        if (B, T, D, H) == _LONG:
            c["x"], c["Wh"] = _SATURATING * c["x"], 3 * c["Wh"]
        h, cache = _forward(rnn_forward, c, B, T, H)
        expected = _torch_rnn(**c)
        if not np.allclose(h, expected, rtol=0, atol=STATE_TOLERANCE):
            wrong = [t for t in range(T) if not np.allclose(h[:, t], expected[:, t], atol=STATE_TOLERANCE)]
            raise AssertionError(
                f"h differs from torch.nn.RNN (batch_first=True, same weights, same h0) by up to "
                f"{np.max(np.abs(h - expected)):.2e} (B={B}, T={T}, D={D}, H={H}); first wrong step "
                f"t={wrong[0]}. Each step must start from the previous step's state (h0 for t = 0), "
                f"and h[:, t] must hold the state after step t.")
        previous = [c["h0"]] + [expected[:, t] for t in range(T - 1)]
        for t, step in enumerate(cache):
            step = _tuple(step, 5, f"cache[{t}]", "(x, h_prev, h_next, Wx, Wh)")
            for name, got, want in zip(("x", "h_prev", "h_next", "Wx", "Wh"), step,
                                       (c["x"][:, t], previous[t], expected[:, t], c["Wx"], c["Wh"])):
                got = _array(got, f"cache[{t}] entry {name}", want.shape)
                assert np.allclose(got, want, rtol=0, atol=STATE_TOLERANCE), \
                    f"cache[{t}] must be rnn_step_forward's cache of step {t}, " \
                    f"(x[:, {t}], state before step {t}, state after step {t}, Wx, Wh); its {name} differs"


_BACKWARD_SIZES = [(2, 4, 3, 5), (1, 6, 4, 4), (3, 1, 2, 3), (1, 3, 1, 1)]  # (B, T, D, H)


def _autograd_gradients(case: dict[str, np.ndarray], upstream: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of L = sum(nn.RNN(x, h0) * upstream) by autograd (float64); for long sequences,
    where finite differences of every entry would be slow."""
    D, H = case["Wx"].shape
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(case["Wx"].T))
        rnn.weight_hh_l0.copy_(torch.tensor(case["Wh"].T))
        rnn.bias_ih_l0.copy_(torch.tensor(case["b"]))
        rnn.bias_hh_l0.zero_()
    x, h0 = torch.tensor(case["x"], requires_grad=True), torch.tensor(case["h0"], requires_grad=True)
    states, _ = rnn(x, h0[None])
    (states * torch.tensor(upstream)).sum().backward()
    return {"x": x.grad.numpy(), "h0": h0.grad.numpy(), "Wx": rnn.weight_ih_l0.grad.numpy().T,
            "Wh": rnn.weight_hh_l0.grad.numpy().T, "b": rnn.bias_ih_l0.grad.numpy()}


@quiet
def check_rnn_backward(rnn_backward: Callable) -> None:
    """dx, dh0, dWx, dWh, db equal central differences of torch.nn.RNN (float64, relative error
    < 1e-6) for L = sum(h * dh), with step caches built from nn.RNN's states as the notebook
    prescribes; several sizes, T = 1 and H = D = 1 included; a gradient that arrives only at the
    last step (many-to-one) must still reach every step; a long sequence is compared with autograd."""
    cases = [(seed, size, "random") for seed, size in enumerate(_BACKWARD_SIZES)]
    cases += [(len(cases), (2, 6, 3, 4), "last step only"), (len(cases) + 1, (2, 200, 3, 5), "long")]
    for seed, (B, T, D, H), kind in cases:
        c = _random_case(600 + seed, B, T, D, H)
        states = _torch_rnn(**c)
        previous = [c["h0"]] + [states[:, t] for t in range(T - 1)]
        cache = [(c["x"][:, t].copy(), previous[t].copy(), states[:, t].copy(), c["Wx"], c["Wh"])
                 for t in range(T)]
        dh = np.random.default_rng(700 + seed).normal(size=(B, T, H))
        if kind == "last step only":
            dh[:, :-1] = 0.0                     # e.g. a classifier reading only the last state
        result = _call(rnn_backward, "rnn_backward", ("dh", "cache"), dh, cache)
        result = _tuple(result, 5, "rnn_backward", "(dx, dh0, dWx, dWh, db)")
        shapes = {"x": (B, T, D), "h0": (B, H), "Wx": (D, H), "Wh": (H, H), "b": (H,)}
        names = {"x": "dx", "h0": "dh0", "Wx": "dWx", "Wh": "dWh", "b": "db"}
        student = {k: _array(v, names[k], shapes[k]) for k, v in zip(shapes, result)}
        reference = _autograd_gradients(c, dh) if kind == "long" else _numerical_gradients(c, dh)
        _compare_gradients(student, reference, "rnn_backward",
                           f"B={B}, T={T}, D={D}, H={H}" + ("" if kind == "random" else f", {kind}"))


# ============================================================================ training threshold

# A character model: embedding (16) -> the student's RNN (64 units) -> linear -> softmax, trained
# with Adam (lr 0.005, gradients clipped to norm 5) for STEPS steps on batches of 32 random
# 32-character windows of the first 100,000 characters of the Lee training text, then scored on the
# first 10,000 characters of the validation text. W_hh starts at ZERO, so whatever memory the
# model has must come from the student's W_hh gradient.
# Measured (float64, CPU; the range over training seeds 0-3 in brackets, the check uses seed 0):
#   reference                                   2.013 (2.006-2.022)
#   gradient into h_{t-1} dropped               2.051 (2.050-2.061)  passes: the gradient checks catch it
#   bias gradient averaged over the batch       2.013                passes: Adam hides the scale
#   dWh taken at h_next instead of h_prev       2.320 (2.245-2.320)  fails
#   W_hh gradient not summed over steps         2.415                fails (W_hh stays zero: no memory)
#   state not carried from step to step         2.415                fails (the bigram level)
#   recurrent weight transposed                 2.736 (2.555-2.736)  fails
#   tanh derivative missing                     4.704 (4.133-5.320)  fails
#   tanh re-applied to the cached state         2.057 (2.057-2.078)  passes: the gradient checks catch it
#   tanh written with exp (overflows)           2.013 (2.011-2.022)  passes: the saturation checks catch it
#   state stored before the step, not after     2.878 (2.878-2.917)  fails (predicts without the input)
# (the mistakes that modify an input in place train exactly like the reference; the input checks
# catch them). LOSS_BOUND sits in the gap: 0.14 above the reference, at least 0.07 above the worst
# seed of every passing mutant and 0.09 below the nearest failing one (seed-to-seed spread at most
# 0.075).
LOSS_BOUND = 2.15
STEPS, BATCH_SIZE, SEQ_LEN, EMBED_DIM, HIDDEN_SIZE, LR = 600, 32, 32, 16, 64, 0.005
TRAIN_CHARS, VALID_CHARS = 100_000, 10_000


def _wrapper(rnn_forward: Callable, rnn_backward: Callable):
    """The student's NumPy functions as a PyTorch operation (float64, CPU)."""

    class StudentRNN(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, h0, Wx, Wh, b):
            arrays = [t.detach().numpy().copy() for t in (x, h0, Wx, Wh, b)]
            result = _tuple(rnn_forward(*arrays), 2, "rnn_forward", "(h, cache)")
            ctx.cache = result[1]
            ctx.shapes = [tuple(t.shape) for t in (x, h0, Wx, Wh, b)]
            B, T, _ = x.shape
            return torch.tensor(_array(result[0], "h", (B, T, h0.shape[1])))

        @staticmethod
        def backward(ctx, dh):
            grads = _tuple(rnn_backward(dh.detach().numpy().copy(), ctx.cache), 5, "rnn_backward",
                           "(dx, dh0, dWx, dWh, db)")
            names = ("dx", "dh0", "dWx", "dWh", "db")
            return tuple(torch.tensor(_array(g, n, s)) for g, n, s in zip(grads, names, ctx.shapes))

    return StudentRNN.apply


@functools.lru_cache(maxsize=1)
def _char_data() -> tuple[int, torch.Tensor, torch.Tensor]:
    from seqlab.charlm import char_vocab, encode, lee_text

    train = lee_text("train")[:TRAIN_CHARS]
    valid = lee_text("valid")[:VALID_CHARS]
    vocab = char_vocab(train)
    return len(vocab), encode(train, vocab), encode(valid, vocab)


def char_model_loss(rnn_forward: Callable, rnn_backward: Callable, steps: int = STEPS, seed: int = 0) -> float:
    """Train the character model above with the student's functions; return its held-out loss
    (mean cross-entropy per character, natural log)."""
    vocab_size, train, valid = _char_data()
    rnn = _wrapper(rnn_forward, rnn_backward)
    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    embed = (0.5 * torch.randn(vocab_size, EMBED_DIM, generator=g, dtype=f64)).requires_grad_()
    Wx = (torch.randn(EMBED_DIM, HIDDEN_SIZE, generator=g, dtype=f64) / math.sqrt(EMBED_DIM)).requires_grad_()
    Wh = torch.zeros(HIDDEN_SIZE, HIDDEN_SIZE, dtype=f64, requires_grad=True)
    b = torch.zeros(HIDDEN_SIZE, dtype=f64, requires_grad=True)
    Wy = (torch.randn(HIDDEN_SIZE, vocab_size, generator=g, dtype=f64) / math.sqrt(HIDDEN_SIZE)).requires_grad_()
    by = torch.zeros(vocab_size, dtype=f64, requires_grad=True)
    params = [embed, Wx, Wh, b, Wy, by]
    optimizer = torch.optim.Adam(params, lr=LR)

    def loss_of(windows: torch.Tensor) -> torch.Tensor:       # windows: (B, SEQ_LEN + 1) ids
        h0 = torch.zeros(windows.size(0), HIDDEN_SIZE, dtype=f64)
        h = rnn(embed[windows[:, :-1]], h0, Wx, Wh, b)        # (B, SEQ_LEN, HIDDEN_SIZE)
        return F.cross_entropy((h @ Wy + by).flatten(0, 1), windows[:, 1:].flatten())

    for step in range(steps):
        starts = torch.randint(0, len(train) - SEQ_LEN - 1, (BATCH_SIZE,), generator=g)
        loss = loss_of(torch.stack([train[s:s + SEQ_LEN + 1] for s in starts]))
        value = loss.detach().item()
        assert math.isfinite(value), f"the training loss became {value} at step {step}"
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        optimizer.step()
    n = (len(valid) - 1) // SEQ_LEN
    with torch.no_grad():
        return loss_of(torch.stack([valid[i * SEQ_LEN:(i + 1) * SEQ_LEN + 1] for i in range(n)])).item()


@quiet
def check_char_model_learns(rnn_forward: Callable, rnn_backward: Callable) -> None:
    """A character model built on the student's rnn_forward / rnn_backward, trained for a fixed
    seeded budget on Lee text, reaches a held-out loss below LOSS_BOUND."""
    try:
        loss = char_model_loss(rnn_forward, rnn_backward)
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"training a character model with your rnn_forward / rnn_backward failed: "
                             f"{type(exc).__name__}: {exc}") from exc
    assert loss < LOSS_BOUND, (
        f"a character model using your rnn_forward / rnn_backward (W_hh starting at zero) reaches a "
        f"held-out loss of {loss:.3f} nats per character after {STEPS} Adam steps; it should be below "
        f"{LOSS_BOUND} (a correct RNN reaches about 2.01, a model that cannot use its recurrence about "
        f"2.41). If the gradient checks pass, check how the state is carried from step to step.")
