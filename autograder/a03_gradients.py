"""Hidden checks of assignment a03 (measuring and taming gradients): per-step hidden-state gradient
norms, clipping by global norm, and a training step that uses it.

Each check takes the student's function, is deterministic, writes nothing to stdout or stderr, and
raises ``AssertionError`` with a message the student can act on.

- The gradient-norm profile is compared with a reference computed by a *different* autograd route:
  the RNN is unrolled by hand from its weights (in float64) with a zero "probe" tensor added to
  every hidden state, and ``dL/dprobe_t`` is ``dL/dh_t``. The cases vary the nonlinearity (tanh
  and ReLU), the loss (last step, every step, first step only: zeros after it), and include a long
  input whose early gradients are so small that a norm taken in float32 underflows to 0. The
  student's function must leave its inputs (the layer and ``x``) as it found them.
- Clipping is compared with ``torch.nn.utils.clip_grad_norm_`` on cloned parameters. The clipping
  checks are split so that one mistake costs the points of the cell that names it: gradients
  above the threshold (with PyTorch's eps and with other values of ``eps``; the parameters
  themselves unchanged; each ``.grad`` scaled in place, not replaced by a new tensor), gradients
  below it, the returned norm, and edge cases (parameters without gradients, empty and zero
  gradients, ``max_norm = 0``).
- The training step must turn a seeded run that diverges without clipping (final loss far above
  chance) into one that converges (see ``_TRAIN_SETUP``; ``tests/test_a03_checks.py`` proves the
  divergence and the margin), and each step must be exactly "zero, loss, backward, clip, step":
  the parameters after two steps, the returned loss (before the step) and the returned norm (before
  clipping) are compared with a reference step for several ``max_norm`` values, ``None`` included,
  and the step must call the student's own ``clip_grad_norm`` (not ``torch.nn.utils.clip_grad_norm_``)
  whenever it clips. Both training-step checks swap a correct ``clip_grad_norm`` into the student's
  namespace while they run, so a clipping mistake costs only the clipping cells.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from autograder.common import extra_device, quiet


# ============================================================================ hidden-state gradient norms

def _make_rnn(input_size: int, hidden_size: int, seed: int, radius: float | None = None,
              nonlinearity: str = "tanh", bias: bool = True) -> nn.RNN:
    """A seeded one-layer batch-first RNN; ``radius`` rescales W_hh to that spectral radius."""
    torch.manual_seed(seed)
    rnn = nn.RNN(input_size, hidden_size, batch_first=True, nonlinearity=nonlinearity, bias=bias)
    if radius is not None:
        with torch.no_grad():
            W = rnn.weight_hh_l0
            W.mul_(radius / torch.linalg.eigvals(W).abs().max())
    return rnn


def _reference_profile(rnn: nn.RNN, x: torch.Tensor, loss_fn: Callable, direct_only: bool = False) -> torch.Tensor:
    """||dL/dh_t|| (T,) in float64 by unrolling ``rnn`` by hand with zero probes added to each h_t.

    ``direct_only`` cuts the recurrence (h_{t-1} detached): the gradient then holds only the direct
    effect of h_t on L, which is what a fused ``nn.RNN`` output's ``.grad`` contains.
    """
    W_ih, W_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double() if rnn.bias else torch.zeros(
        rnn.hidden_size, dtype=torch.float64, device=x.device)
    act = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu
    xd = x.detach().double()
    B, T, _ = xd.shape
    probes = torch.zeros(T, B, rnn.hidden_size, dtype=torch.float64, device=x.device, requires_grad=True)
    h = torch.zeros(B, rnn.hidden_size, dtype=torch.float64, device=x.device)
    states = []
    for t in range(T):
        prev = h.detach() if direct_only else h
        h = act(xd[:, t] @ W_ih.T + prev @ W_hh.T + b) + probes[t]      # (B, H); dL/dprobe_t = dL/dh_t
        states.append(h)
    (grad,) = torch.autograd.grad(loss_fn(torch.stack(states, dim=1)), probes)   # (T, B, H)
    return grad.flatten(1).norm(dim=1)                                             # (T,)


def _readout_loss(readout: torch.Tensor, last_only: bool | str) -> Callable[[torch.Tensor], torch.Tensor]:
    """L = mean over the batch of (readout . h)^2, on the last step (``True``), the first step only
    (``"first"``) or summed over all steps (``False``)."""
    def loss_fn(outputs: torch.Tensor) -> torch.Tensor:             # outputs (B, T, H)
        r = readout.to(device=outputs.device, dtype=outputs.dtype)
        if last_only == "first":
            return (outputs[:, 0] @ r).pow(2).mean()
        scores = outputs[:, -1] @ r if last_only else outputs @ r      # (B,) or (B, T)
        return scores.pow(2).sum(dim=-1).mean() if not last_only else scores.pow(2).mean()
    return loss_fn


# (B, T, input_size, hidden_size, seed, spectral radius, nonlinearity, loss on the last step only)
_PROFILE_CASES = [
    (4, 25, 3, 16, 0, 0.5, "tanh", True),      # vanishing
    (3, 20, 5, 12, 1, 1.5, "tanh", True),      # exploding
    (5, 15, 2, 8, 2, 1.0, "tanh", False),      # a loss on every step: direct and indirect paths
    (2, 12, 4, 10, 3, None, "relu", False),    # PyTorch's initialisation, ReLU units
    (1, 1, 3, 6, 4, None, "tanh", True),       # a single step
    (3, 10, 3, 8, 6, 1.2, "relu", True),       # ReLU units, exploding
    (2, 9, 3, 7, 7, 1.0, "tanh", "first"),     # a loss on the first step only: dL/dh_t = 0 after it
    (4, 80, 3, 16, 5, 0.5, "tanh", True),      # long: early norms ~1e-28, their squares underflow in float32
]


def _profile_inputs(case, device):
    B, T, I, H, seed, radius, nonlinearity, last_only = case
    rnn = _make_rnn(I, H, seed, radius, nonlinearity).to(device)
    g = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(B, T, I, generator=g).to(device)
    readout = torch.randn(H, generator=g).to(device)
    return rnn, x, _readout_loss(readout, last_only)


def _call_profile(hidden_grad_norms, rnn, x, loss_fn) -> torch.Tensor:
    """Call the student's function and check that it left the layer and ``x`` as they were."""
    params = {name: (p.detach().clone(), p.dtype, p.requires_grad) for name, p in rnn.named_parameters()}
    x_before, x_dtype, x_requires_grad = x.detach().clone(), x.dtype, x.requires_grad
    norms = hidden_grad_norms(rnn, x, loss_fn)
    if not isinstance(norms, torch.Tensor):
        raise AssertionError(f"hidden_grad_norms should return a torch.Tensor, got {type(norms).__name__}")
    for name, p in rnn.named_parameters():
        value, dtype, requires_grad = params[name]
        if p.dtype != dtype:
            raise AssertionError(f"hidden_grad_norms changed the layer's {name} from {dtype} to {p.dtype}: "
                                 f"rnn.double() / rnn.float() convert the caller's layer in place. Leave the layer "
                                 f"as it is and take only the norms in float64 (g.double().norm())")
        if p.requires_grad != requires_grad or not torch.equal(p.detach(), value):
            raise AssertionError(f"hidden_grad_norms changed the layer's parameter {name}: measure the gradients, "
                                 f"do not modify the model")
    if x.dtype != x_dtype or x.requires_grad != x_requires_grad or not torch.equal(x.detach(), x_before):
        raise AssertionError("hidden_grad_norms modified its input x (its values, dtype or requires_grad): the "
                             "caller's tensor must come back as it was given")
    return norms


@quiet
def check_hidden_grad_norms_shapes(hidden_grad_norms: Callable) -> None:
    """A (T,) tensor of finite, non-negative norms for several batch sizes, lengths and sizes."""
    devices = [torch.device("cpu")] + ([d] if (d := extra_device()) else [])
    for device in devices:
        for case in _PROFILE_CASES:
            if device.type != "cpu" and case[1] > 30:
                continue                    # the long case on the CPU only (a GPU may use TF32 in cuDNN's RNN)
            rnn, x, loss_fn = _profile_inputs(case, device)
            B, T = x.shape[:2]
            norms = _call_profile(hidden_grad_norms, rnn, x, loss_fn)
            if tuple(norms.shape) != (T,):
                raise AssertionError(f"for x of shape {tuple(x.shape)} (B={B}, T={T}) hidden_grad_norms should "
                                     f"return shape ({T},): one norm per time step; got {tuple(norms.shape)}")
            norms = norms.detach()
            if not torch.all(torch.isfinite(norms)) or torch.any(norms < 0):
                raise AssertionError(f"norms must be finite and non-negative, got {norms.cpu().tolist()}")
            if norms.device.type != device.type:
                raise AssertionError(f"with the model and x on {device.type}, the norms should be on "
                                     f"{device.type} too (got {norms.device.type})")


@quiet
def check_hidden_grad_norms_profile(hidden_grad_norms: Callable) -> None:
    """The profile equals an independent reference on seeded models (vanishing, exploding, a loss on
    every step, ReLU units)."""
    devices = [torch.device("cpu")] + ([d] if (d := extra_device()) else [])
    for device in devices:
        for case in _PROFILE_CASES:
            if device.type != "cpu" and case[1] > 30:
                continue                    # the long case on the CPU only (a GPU may use TF32 in cuDNN's RNN)
            rnn, x, loss_fn = _profile_inputs(case, device)
            norms = _call_profile(hidden_grad_norms, rnn, x, loss_fn).detach().double().reshape(-1)
            expected = _reference_profile(rnn, x, loss_fn)
            if norms.shape != expected.shape:
                raise AssertionError(f"expected {expected.numel()} norms (one per step), got {norms.numel()}")
            rel = ((norms - expected).abs() / expected.clamp_min(1e-300)).max().item()
            if rel <= 1e-3:
                continue
            loss_on = {True: "the last step", False: "every step", "first": "the first step only"}[case[7]]
            what = (f"radius {case[5]}" if case[5] is not None else "PyTorch's initialisation") + \
                   f", {case[6]}, loss on {loss_on}, T={case[1]}"
            direct = _reference_profile(rnn, x, loss_fn, direct_only=True)
            if case[7] != "first" and ((norms - direct).abs() / direct.clamp_min(1e-300)).max().item() <= 1e-3:
                raise AssertionError(
                    f"({what}) your norms hold only the *direct* effect of each h_t on the loss. dL/dh_t must "
                    f"include the effect through every later step: feed each step the previous step's h "
                    f"(not detached) and differentiate with respect to those tensors, not the fused output of nn.RNN")
            worst = int(((norms - expected).abs() / expected.clamp_min(1e-300)).argmax())
            if norms[worst] == 0 and 0 < expected[worst] < 1e-15:
                raise AssertionError(
                    f"({what}) at t={worst} you return 0, but dL/dh_t is not 0: its norm is {expected[worst].item():.3g}. "
                    f"The gradient entries there are about 1e-30, and their squares underflow to 0 in float32. "
                    f"Take each norm in float64: g.double().norm() (the gradients themselves can stay float32)")
            raise AssertionError(
                f"({what}) ||dL/dh_t|| differs from the reference: at t={worst} you return "
                f"{norms[worst].item():.6g}, expected {expected[worst].item():.6g} (the norm over the whole "
                f"batch and all hidden units of the total derivative dL/dh_t)")


# ============================================================================ clipping by global norm

def _param_pair(shapes, scale: float, dtype, device, seed: int, with_grad=None):
    """Two identical lists of parameters with gradients (``with_grad[i]`` False: grad None)."""
    g = torch.Generator().manual_seed(seed)
    a, b = [], []
    for i, shape in enumerate(shapes):
        value = torch.randn(shape, generator=g, dtype=torch.float64)
        grad = torch.randn(shape, generator=g, dtype=torch.float64) * scale
        pa = nn.Parameter(value.to(device=device, dtype=dtype).clone())      # clones: .to() may alias
        pb = nn.Parameter(value.to(device=device, dtype=dtype).clone())
        if with_grad is None or with_grad[i]:
            pa.grad = grad.to(device=device, dtype=dtype).clone()
            pb.grad = grad.to(device=device, dtype=dtype).clone()
        a.append(pa)
        b.append(pb)
    return a, b


def _grad_norm(params) -> float:
    grads = [p.grad.double() for p in params if p.grad is not None]
    return math.sqrt(sum(float((gr ** 2).sum()) for gr in grads)) if grads else 0.0


def _random_cases(seed: int, count: int, above: bool):
    """(shapes, grad scale, max_norm factor) triples: the max_norm is factor x the total norm."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for i in range(count):
        n = int(torch.randint(1, 6, (1,), generator=g))
        shapes = [tuple(int(s) for s in torch.randint(1, 7, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g))
                  for _ in range(n)]
        if above:
            scale = 10 ** float(torch.empty(1).uniform_(-4, 2, generator=g))     # tiny norms make eps matter
            factor = float(torch.empty(1).uniform_(0.01, 0.9, generator=g))
        else:
            scale = 10 ** float(torch.empty(1).uniform_(-2, 0, generator=g))
            factor = float(torch.empty(1).uniform_(1.5, 100, generator=g))
        cases.append((shapes, scale, factor))
    return cases


def _dtypes_devices():
    out = [(torch.float64, torch.device("cpu")), (torch.float32, torch.device("cpu"))]
    if (d := extra_device()) is not None:
        out.append((torch.float32, d))
    return out


def _assert_grads_close(student, reference, what: str, rtol: float) -> None:
    for i, (ps, pr) in enumerate(zip(student, reference)):
        if not torch.equal(ps.detach(), pr.detach()):
            raise AssertionError(f"{what}: clip_grad_norm changed the *values* of parameter {i}; it must scale "
                                 f"their gradients (p.grad) in place and leave the parameters themselves alone")
        if pr.grad is None:
            if ps.grad is not None:
                raise AssertionError(f"{what}: parameter {i} had no gradient (grad None) and must keep none")
            continue
        if ps.grad is None:
            raise AssertionError(f"{what}: the gradient of parameter {i} was removed (set to None)")
        a, e = ps.grad.detach().double().cpu(), pr.grad.detach().double().cpu()
        if not torch.all(torch.isfinite(a)):
            raise AssertionError(f"{what}: the gradient of parameter {i} contains NaN or inf after clipping")
        if (a - e).norm() > rtol * e.norm() + 1e-300:
            ratio = (a.norm() / e.norm()).item() if e.norm() > 0 else float("nan")
            raise AssertionError(
                f"{what}: the gradient of parameter {i} differs from torch.nn.utils.clip_grad_norm_'s "
                f"(its norm is {ratio:.6g} x the expected one). Scale *every* gradient by the same "
                f"coefficient max_norm / (total_norm + eps), total_norm being the norm of all gradients together")


def _clip_both(clip_grad_norm, shapes, scale, factor, dtype, device, seed, as_generator=False, in_place=False):
    """Clip ``student`` (with the student's function) and ``reference`` (with PyTorch's) alike;
    ``in_place``: also require that every ``.grad`` is still the same tensor object afterwards."""
    student, reference = _param_pair(shapes, scale, dtype, device, seed)
    max_norm = factor * _grad_norm(reference)
    grads_before = [p.grad for p in student]
    returned = clip_grad_norm((p for p in student) if as_generator else student, max_norm)
    if in_place:
        for i, (p, g) in enumerate(zip(student, grads_before)):
            if g is not None and p.grad is not g:
                raise AssertionError(
                    f"clip_grad_norm replaced the gradient of parameter {i} by a new tensor (as p.grad = p.grad * c "
                    f"does). Scale the existing gradient in place, as torch.nn.utils.clip_grad_norm_ does: "
                    f"p.grad.detach().mul_(c), or p.grad.mul_(c) inside torch.no_grad()")
    expected = nn.utils.clip_grad_norm_(reference, max_norm)
    return student, reference, returned, float(expected), max_norm


@quiet
def check_clip_matches_torch(clip_grad_norm: Callable) -> None:
    """Above the threshold, the clipped gradients equal torch.nn.utils.clip_grad_norm_'s (and, for
    other values of ``eps``, the formula max_norm / (total + eps)); the parameters are unchanged."""
    for k, (dtype, device) in enumerate(_dtypes_devices()):
        rtol = 1e-9 if dtype == torch.float64 else 2e-5
        for i, (shapes, scale, factor) in enumerate(_random_cases(10 + k, 25, above=True)):
            student, reference, _, total, max_norm = _clip_both(clip_grad_norm, shapes, scale, factor, dtype,
                                                                device, seed=1000 * k + i, as_generator=i % 5 == 0,
                                                                in_place=True)
            _assert_grads_close(student, reference, f"{len(shapes)} parameters ({dtype}, {device.type}), "
                                f"total norm {total:.3g}, max_norm {max_norm:.3g}", rtol)
    # Another eps: the coefficient is max_norm / (total + eps) for the eps given (small norms, where it shows).
    for i, eps in enumerate((1e-2, 0.5, 1e-9)):
        student, reference = _param_pair([(3, 2), (4,)], 0.05, torch.float64, torch.device("cpu"), seed=50 + i)
        total = _grad_norm(reference)
        max_norm = 0.5 * total
        clip_grad_norm(student, max_norm, eps=eps)
        coef = max_norm / (total + eps)
        with torch.no_grad():
            for p in reference:
                p.grad.mul_(coef)
        _assert_grads_close(student, reference, f"with eps={eps:g} (total norm {total:.3g}, max_norm {max_norm:.3g}; "
                            f"use the eps argument, not a fixed 1e-6)", 1e-9)


@quiet
def check_clip_below_threshold(clip_grad_norm: Callable) -> None:
    """Below the threshold, the gradients are left exactly as they are."""
    for k, (dtype, device) in enumerate(_dtypes_devices()):
        for i, (shapes, scale, factor) in enumerate(_random_cases(20 + k, 20, above=False)):
            student, reference, _, total, max_norm = _clip_both(clip_grad_norm, shapes, scale, factor, dtype,
                                                                device, seed=2000 * k + i)
            for j, (ps, pr) in enumerate(zip(student, reference)):
                if ps.grad is None or not torch.allclose(ps.grad, pr.grad, rtol=1e-12, atol=0):
                    raise AssertionError(
                        f"the total gradient norm {total:.3g} is below max_norm {max_norm:.3g}, so the gradients "
                        f"must stay unchanged, but parameter {j}'s changed. Clipping only ever scales *down*: "
                        f"apply the coefficient only when it is below 1")


@quiet
def check_clip_returns_total_norm(clip_grad_norm: Callable) -> None:
    """The returned value is the total norm *before* clipping, as clip_grad_norm_ returns it."""
    for k, (dtype, device) in enumerate(_dtypes_devices()):
        rtol = 1e-9 if dtype == torch.float64 else 1e-5
        cases = _random_cases(30 + k, 10, above=True) + _random_cases(40 + k, 5, above=False)
        for i, (shapes, scale, factor) in enumerate(cases):
            _, _, returned, expected, max_norm = _clip_both(clip_grad_norm, shapes, scale, factor, dtype,
                                                            device, seed=3000 * k + i)
            try:
                value = float(returned)
            except (TypeError, ValueError, RuntimeError):
                raise AssertionError(f"clip_grad_norm should return the total norm (a number or a 0-dim "
                                     f"tensor), got {type(returned).__name__}") from None
            if not math.isclose(value, expected, rel_tol=rtol):
                hint = " (that is max_norm: return the norm measured *before* clipping)" \
                    if math.isclose(value, max_norm, rel_tol=1e-3) else ""
                raise AssertionError(f"clip_grad_norm returned {value:.6g}, expected the total norm of the "
                                     f"gradients before clipping, {expected:.6g}{hint}")


@quiet
def check_clip_edge_cases(clip_grad_norm: Callable) -> None:
    """Parameters without gradients are skipped and keep none; zero gradients stay zero (no NaN)
    and give a total norm of 0; no gradient at all returns 0."""
    for dtype, device in _dtypes_devices():
        # One parameter with a gradient, two without (grad None), above the threshold.
        student, reference = _param_pair([(3, 4), (5,), (2, 2)], 1.0, dtype, device, seed=7,
                                         with_grad=[False, True, False])
        max_norm = 0.1 * _grad_norm(reference)
        try:
            clip_grad_norm(student, max_norm)
        except Exception as exc:  # noqa: BLE001 - report what went wrong
            raise AssertionError(f"clip_grad_norm failed on parameters whose .grad is None "
                                 f"({type(exc).__name__}: {exc}); skip them") from None
        nn.utils.clip_grad_norm_(reference, max_norm)
        # (a loose tolerance: this case is about skipping grad None; precision is check_clip_matches_torch's)
        _assert_grads_close(student, reference, "with parameters whose grad is None", 1e-4)
        # Zero gradients, with max_norm 1 and 0: nothing to clip, no division by zero.
        for max_norm in (1.0, 0.0):
            student, _ = _param_pair([(4,), (2, 3)], 0.0, dtype, device, seed=8)
            returned = clip_grad_norm(student, max_norm)
            for p in student:
                if not torch.all(torch.isfinite(p.grad)):
                    raise AssertionError(f"all gradients are zero (max_norm={max_norm}): they must stay zero, "
                                         f"but clipping made NaN or inf. Add eps to the total norm before dividing")
                if torch.any(p.grad != 0):
                    raise AssertionError("all gradients are zero: they must stay zero")
            if not float(returned) == 0.0:
                raise AssertionError(f"all gradients are zero, so the total norm is 0; clip_grad_norm returned "
                                     f"{float(returned)!r} (is it the norm of the gradients, not of the parameters?)")
        # An empty gradient among others, and max_norm = 0 (every gradient becomes 0).
        for max_norm_factor in (0.1, 0.0):
            student, reference = _param_pair([(0,), (3,), (2, 0)], 1.0, dtype, device, seed=10)   # one non-empty
            max_norm = max_norm_factor * _grad_norm(reference)
            try:
                clip_grad_norm(student, max_norm)
            except Exception as exc:  # noqa: BLE001
                raise AssertionError(f"clip_grad_norm failed on a parameter with zero elements "
                                     f"({type(exc).__name__}: {exc}); its norm is 0") from None
            nn.utils.clip_grad_norm_(reference, max_norm)
            _assert_grads_close(student, reference, f"with empty parameters, max_norm={max_norm:.3g}", 1e-4)
        # No parameter has a gradient at all.
        student, _ = _param_pair([(3,), (2,)], 1.0, dtype, device, seed=9, with_grad=[False, False])
        try:
            returned = clip_grad_norm(student, 1.0)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"with no gradients at all clip_grad_norm should return 0, it raised "
                                 f"{type(exc).__name__}: {exc}") from None
        if float(returned) != 0.0:
            raise AssertionError(f"with no gradients at all the total norm is 0, got {float(returned)!r}")


# ============================================================================ a training step with clipping

class _MemoryRNN(nn.Module):
    """A vanilla RNN classifier of the course interface: logits, loss = model(x, targets=y)."""

    def __init__(self, vocab_size: int = 12, embed_dim: int = 8, hidden_size: int = 32, num_classes: int = 4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.RNN(embed_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x, targets=None):
        out, _ = self.rnn(self.embed(x))                 # (B, T, H)
        logits = self.head(out[:, -1])                   # (B, C)
        return logits, (None if targets is None else F.cross_entropy(logits, targets))


# The seeded setup: the memory task (label = first token, 5 distractors), a vanilla RNN whose W_hh
# starts at spectral radius 2.0, SGD with momentum at a learning rate too high for it, 100 steps of
# 32 sequences. Without clipping the final loss of both seeds is far above chance (ln 4 = 1.39;
# measured 8.5 and 5.0); with clipping at 1.0 it is below 0.01 (tests/test_a03_checks.py).
_TRAIN_SETUP = dict(seeds=(0, 4), T=5, radius=2.0, lr=0.5, momentum=0.9, steps=100, batch_size=32, max_norm=1.0)
LOSS_BOUND = 0.5    # mean loss of the last 10 steps must be below this (chance level: ln 4 = 1.39)


def run_training(train_step: Callable, seed: int, max_norm: float | None) -> list[float]:
    """The per-step losses of the seeded setup, trained with ``train_step`` (on the CPU, where the
    run is reproducible)."""
    from seqlab.synthetic import memory_task

    s = _TRAIN_SETUP
    torch.manual_seed(seed)
    model = _MemoryRNN()
    W = torch.randn(32, 32, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(W * (s["radius"] / torch.linalg.eigvals(W).abs().max()))
    x, y = memory_task(s["batch_size"] * s["steps"], s["T"], seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=s["lr"], momentum=s["momentum"])
    losses = []
    for i in range(s["steps"]):
        batch = (x[i * s["batch_size"]:(i + 1) * s["batch_size"]], y[i * s["batch_size"]:(i + 1) * s["batch_size"]])
        result = train_step(model, batch, optimizer, max_norm)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise AssertionError(f"train_step should return a pair (loss, total_norm), got {result!r}")
        losses.append(float(result[0]))
    return losses


@contextlib.contextmanager
def _correct_clip(train_step: Callable):
    """Swap a correct ``clip_grad_norm`` into the namespace ``train_step`` reads while the block runs,
    so that a mistake in the student's clipping costs only the clipping cells; yields the list of
    ``max_norm`` values it was called with (to check that the step clips with that function)."""
    namespace = getattr(train_step, "__globals__", {})
    had_clip, student_clip = "clip_grad_norm" in namespace, namespace.get("clip_grad_norm")
    calls: list[float] = []

    def correct_clip(parameters, max_norm: float, eps: float = 1e-6) -> torch.Tensor:
        calls.append(max_norm)
        return _torch_clip(parameters, max_norm, eps)

    namespace["clip_grad_norm"] = correct_clip
    try:
        yield calls
    finally:
        if had_clip:
            namespace["clip_grad_norm"] = student_clip
        else:
            namespace.pop("clip_grad_norm", None)


@quiet
def check_train_step_converges(train_step: Callable) -> None:
    """Runs that diverge without clipping converge when train_step clips at max_norm = 1 (with a
    correct clip_grad_norm swapped in: this judges the step, not the clipping)."""
    for seed in _TRAIN_SETUP["seeds"]:
        with _correct_clip(train_step):
            losses = run_training(train_step, seed, _TRAIN_SETUP["max_norm"])
        final = sum(losses[-10:]) / 10
        if not math.isfinite(final) or final >= LOSS_BOUND:
            raise AssertionError(
                f"with max_norm={_TRAIN_SETUP['max_norm']}, a run that diverges without clipping should converge: "
                f"the mean loss of its last 10 steps should be below {LOSS_BOUND}, got {final:.3g} (seed {seed}). "
                f"In each step: zero the gradients, compute the loss, backward, clip with your clip_grad_norm, "
                f"and only then optimizer.step()")


def _torch_clip(parameters, max_norm: float, eps: float = 1e-6) -> torch.Tensor:
    """A correct clip_grad_norm (PyTorch's), what ``_correct_clip`` swaps in while the training-step
    checks run."""
    return nn.utils.clip_grad_norm_(list(parameters), max_norm)


@quiet
def check_train_step_update(train_step: Callable) -> None:
    """Each step is exactly "zero the gradients, loss, backward, clip at max_norm, optimizer.step()",
    for several max_norm values (None: no clipping); it returns the loss before the step and the
    gradient norm before clipping. Two steps in a row, so leftover gradients show."""
    from seqlab.synthetic import memory_task

    with _correct_clip(train_step) as calls:
        for case, max_norm in enumerate((None, 0.05, 2.0, 1e6)):
            torch.manual_seed(10 + case)
            model = _MemoryRNN().double()
            W = torch.randn(32, 32, generator=torch.Generator().manual_seed(10 + case), dtype=torch.float64)
            with torch.no_grad():                       # radius 2.0: gradient norms well above 1
                model.rnn.weight_hh_l0.copy_(W * (2.0 / torch.linalg.eigvals(W).abs().max()))
            reference = _MemoryRNN().double()
            reference.load_state_dict(model.state_dict())
            x, y = memory_task(32, 6, seed=20 + case)
            batches = [(x[:16], y[:16]), (x[16:], y[16:])]
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            ref_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
            for step, batch in enumerate(batches):
                ref_optimizer.zero_grad()
                _, ref_loss = reference(*batch[:1], targets=batch[1])
                ref_loss.backward()
                ref_norm = float(nn.utils.clip_grad_norm_(reference.parameters(),
                                                          math.inf if max_norm is None else max_norm))
                ref_optimizer.step()
                calls.clear()
                result = train_step(model, batch, optimizer, max_norm)
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise AssertionError(f"train_step should return a pair (loss, total_norm), got {result!r}")
                loss, total = (float(v) for v in result)
                where = f"(max_norm={max_norm}, step {step + 1} of 2 with the same optimizer)"
                if max_norm is not None and not calls:
                    raise AssertionError(f"{where} train_step did not call your clip_grad_norm: clip with the "
                                         f"function you wrote in task 2, not torch.nn.utils.clip_grad_norm_")
                if not math.isclose(loss, ref_loss.item(), rel_tol=1e-6):
                    raise AssertionError(f"{where} train_step returned loss {loss:.6g}, expected {ref_loss.item():.6g}: "
                                         f"return the loss of this batch computed *before* the optimizer step")
                if not math.isclose(total, ref_norm, rel_tol=1e-6):
                    hint = (" (that is the norm after clipping: return the one measured before)"
                            if max_norm is not None and math.isclose(total, min(ref_norm, max_norm), rel_tol=1e-3) else "")
                    raise AssertionError(f"{where} train_step returned gradient norm {total:.6g}, expected the "
                                         f"global norm before clipping, {ref_norm:.6g}{hint}")
                for (name, p), q in zip(model.named_parameters(), reference.parameters()):
                    if not torch.allclose(p.detach(), q.detach(), rtol=1e-7, atol=1e-9):
                        raise AssertionError(
                            f"{where} after train_step, parameter {name} differs from a reference step. Each step: "
                            f"zero the gradients, compute the loss, backward, clip with your clip_grad_norm at "
                            f"max_norm (None: do not clip, but still measure the norm), then optimizer.step()")
