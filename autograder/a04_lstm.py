"""Hidden checks of assignment a04 (an LSTM cell and a classifier).

Each check takes the student's function or class, is deterministic (seeded), writes nothing to
stdout or stderr, and raises ``AssertionError`` with a message the student can act on.

The checks are independent, so that one mistake costs the points of the cells that test what it
breaks and no others:

- the cell checks (shapes, values against ``nn.LSTMCell``, ``gradcheck``, the memory task) call
  only the student's ``lstm_cell``;
- the padded-batch check and both classifier checks pass PyTorch's own cell
  (``torch.lstm_cell``) as the ``cell`` argument, so a wrong cell does not cost their points
  twice; only the gradient check runs the student's layer with the student's cell, since it is
  about the two together carrying a gradient over 100 steps;
- besides values, the checks test properties: inputs are never modified in place; large
  pre-activations and a 200-step run whose cell state grows to about 200 stay finite and match
  PyTorch (a hand-written sigmoid or tanh overflows there); an empty row (length 0) keeps the
  zero initial state; values at padded positions have no effect (not on ``h_n``, not on the
  gradient); the classifier returns raw logits, and with a "cell" whose ``h`` depends only on the
  current token, each row's logits are those of its last real token alone (so reading ``c_n``,
  a mean of the outputs or any other state fails even when it would pass the accuracy bar);
- learning checks use margins measured in ``tests/test_a04_checks.py``: a correct cell reaches
  95% on the T = 50 memory task within 150 of the 200 allowed steps for every seed tried (within
  50 for the seed used), and the classifier scores about 99% against a threshold of 85% (see
  ``MEMORY`` and ``REVIEWS``).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from autograder.common import extra_device, quiet
from seqlab.reviews import make_reviews
from seqlab.synthetic import memory_task
from seqlab.text import Vocab, pad_sequences, tokenize

# The memory-task check: T = 50 distractors, 4 classes (chance 25%), one-hot inputs, hidden 32,
# forget-gate bias 5 (rows H:2H of b_ih; b_hh's forget rows 0), Adam 3e-3, clipping at 1.0, at
# most 200 steps of 64 fresh sequences, evaluated every 25 steps on 512 held-out ones.
MEMORY = dict(T=50, num_classes=4, vocab_size=12, hidden_size=32, forget_bias=5.0, lr=3e-3,
              max_steps=200, batch_size=64, eval_every=25, n_eval=512, target=0.95)
# The classifier check: trained with PyTorch's cell on synthetic reviews for a fixed budget.
REVIEWS = dict(n_train=2000, n_test=1000, embed_dim=32, hidden_size=32, lr=1e-2, epochs=5,
               batch_size=64, target=0.85)
LAYOUT_HINT = ("PyTorch's layout: W_ih (4H, D), W_hh (4H, H), b_ih and b_hh (4H,), with the rows of "
               "the four gates in the order i, f, g, o (rows 0:H input gate, H:2H forget gate, 2H:3H "
               "candidate g, 3H:4H output gate)")


def _devices() -> list[torch.device]:
    extra = extra_device()
    return [torch.device("cpu")] + ([extra] if extra is not None else [])


def torch_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """PyTorch's own LSTM step with the assignment's signature: ``(h, c)``, each ``(B, H)``."""
    return tuple(torch.lstm_cell(x, (h_prev, c_prev), W_ih, W_hh, b_ih, b_hh))


def _weights(D: int, H: int, seed: int, device, dtype=torch.float32, scale: float = 1.0,
             forget_bias: float | None = None) -> tuple[nn.LSTMCell, tuple[torch.Tensor, ...]]:
    """A seeded ``nn.LSTMCell`` and copies of its (W_ih, W_hh, b_ih, b_hh)."""
    torch.manual_seed(seed)
    ref = nn.LSTMCell(D, H).to(device=device, dtype=dtype)
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(scale)
        if forget_bias is not None:
            ref.bias_ih[H:2 * H] = forget_bias
            ref.bias_hh[H:2 * H] = 0.0
    weights = tuple(p.detach().clone() for p in (ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh))
    return ref, weights


def _snapshot(*tensors) -> list[torch.Tensor]:
    return [t.detach().clone() for t in tensors]


def _assert_unchanged(before: list[torch.Tensor], after, names: list[str], what: str) -> None:
    for name, old, new in zip(names, before, after):
        if not torch.equal(old, new.detach()):
            raise AssertionError(f"{what} modified its argument {name} in place: leave the inputs unchanged (write "
                                 f"c = f * c_prev + ..., not c_prev *= f or c_prev.mul_(f); never change lengths "
                                 f"or x inside the function)")


def _call_cell(lstm_cell, *args):
    out = lstm_cell(*args)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"lstm_cell must return a pair (h, c); it returned {type(out).__name__}")
    return out


# ============================================================================ the cell

@quiet
def check_cell_shapes(lstm_cell: Callable) -> None:
    """h and c have shape (B, H), the dtype and device of the input, for several sizes."""
    for device in _devices():
        for B, D, H in ((1, 1, 1), (3, 5, 4), (8, 2, 16), (2, 7, 3)):
            _, weights = _weights(D, H, seed=B + D + H, device=device)
            x = torch.randn(B, D, device=device)
            h0, c0 = torch.randn(B, H, device=device), torch.randn(B, H, device=device)
            h, c = _call_cell(lstm_cell, x, h0, c0, *weights)
            for name, value in (("h", h), ("c", c)):
                if not isinstance(value, torch.Tensor):
                    raise AssertionError(f"{name} must be a tensor, got {type(value).__name__}")
                if tuple(value.shape) != (B, H):
                    raise AssertionError(f"with B={B}, D={D}, H={H}: {name} has shape {tuple(value.shape)}, "
                                         f"expected (B, H) = {(B, H)}. {LAYOUT_HINT}.")
                if value.device.type != device.type or value.dtype != x.dtype:
                    raise AssertionError(f"{name} is a {value.dtype} tensor on {value.device}; expected "
                                         f"{x.dtype} on {device}, like the inputs")
                if not torch.isfinite(value).all():
                    raise AssertionError(f"{name} contains NaN or inf for finite inputs")


@quiet
def check_cell_matches_torch(lstm_cell: Callable) -> None:
    """(h, c) equal nn.LSTMCell's, with its weights copied in, for random states and weights large
    enough that the gates are not all near 0.5, for large pre-activations and over a 200-step run
    with a growing cell state; the inputs are left unchanged."""
    _check_cell_inputs_unchanged(lstm_cell)
    for device in _devices():
        for seed, (B, D, H, scale) in enumerate(((4, 3, 5, 1.0), (2, 6, 3, 3.0), (5, 4, 8, 2.0))):
            ref, weights = _weights(D, H, seed=100 + seed, device=device, scale=scale)
            gen = torch.Generator().manual_seed(200 + seed)
            x = (2 * torch.randn(B, D, generator=gen)).to(device)
            h0 = torch.randn(B, H, generator=gen).tanh().to(device)
            c0 = (2 * torch.randn(B, H, generator=gen)).to(device)
            with torch.no_grad():
                h, c = _call_cell(lstm_cell, x, h0, c0, *weights)
                h_ref, c_ref = ref(x, (h0, c0))
            dc = (c.float() - c_ref).abs().max().item()
            dh = (h.float() - h_ref).abs().max().item()
            if not (dc < 1e-4 and dh < 1e-4):
                hints = []
                if dc >= 1e-4:
                    hints.append("c differs: c = f * c_prev + i * g, with i, f from a sigmoid and g from a tanh")
                if dh >= 1e-4:
                    hints.append("h differs: h = o * tanh(c) with the new c and a sigmoid output gate")
                raise AssertionError(f"lstm_cell disagrees with nn.LSTMCell (largest difference: c {dc:.3g}, "
                                     f"h {dh:.3g}) for B={B}, D={D}, H={H}. {'; '.join(hints)}. {LAYOUT_HINT}.")
    _check_cell_large_values(lstm_cell)


def _check_cell_inputs_unchanged(lstm_cell: Callable) -> None:
    """lstm_cell leaves x, h_prev, c_prev and the weights as they were."""
    _, weights = _weights(4, 3, seed=150, device="cpu", scale=2.0)
    gen = torch.Generator().manual_seed(151)
    args = [torch.randn(2, 4, generator=gen), torch.randn(2, 3, generator=gen).tanh(),
            torch.randn(2, 3, generator=gen)] + list(weights)
    before = _snapshot(*args)
    with torch.no_grad():
        _call_cell(lstm_cell, *args)
    _assert_unchanged(before, args, ["x", "h_prev", "c_prev", "W_ih", "W_hh", "b_ih", "b_hh"], "lstm_cell")


def _check_cell_large_values(lstm_cell: Callable) -> None:
    """Pre-activations in the hundreds, and a 200-step run in which the cell state grows to about
    200 (every gate open, candidate near 1), stay finite and match nn.LSTMCell (float32)."""
    ref, weights = _weights(3, 4, seed=160, device="cpu", scale=60.0)
    gen = torch.Generator().manual_seed(161)
    x, h0, c0 = torch.randn(6, 3, generator=gen), torch.randn(6, 4, generator=gen).tanh(), 50 * torch.randn(6, 4, generator=gen)
    with torch.no_grad():
        h, c = _call_cell(lstm_cell, x, h0, c0, *weights)
        h_ref, c_ref = ref(x, (h0, c0))
    if not (torch.isfinite(h).all() and torch.isfinite(c).all()):
        raise AssertionError("lstm_cell returns NaN or inf when gate pre-activations are large (about 100): use "
                             "torch.sigmoid and torch.tanh, which are stable, not formulas with torch.exp")
    if (h - h_ref).abs().max() > 1e-4 or (c - c_ref).abs().max() > 1e-3:
        raise AssertionError("with large pre-activations (about 100) lstm_cell disagrees with nn.LSTMCell")
    ref, weights = _weights(2, 3, seed=162, device="cpu")
    with torch.no_grad():
        for p in (ref.bias_ih, weights[2]):
            p[:] = 20.0                                        # every gate open, candidate g = tanh(20) = 1
        h = c = h_ref = c_ref = torch.zeros(2, 3)
        for _ in range(200):
            x = torch.randn(2, 2, generator=gen)
            h, c = _call_cell(lstm_cell, x, h, c, *weights)
            h_ref, c_ref = ref(x, (h_ref, c_ref))
    if not (torch.isfinite(h).all() and torch.isfinite(c).all()):
        raise AssertionError("after 200 steps with the gates open the cell state is about 200 and lstm_cell returns "
                             "NaN or inf: tanh(c) of a large c must be 1, use torch.tanh, not a formula with torch.exp")
    if (h - h_ref).abs().max() > 1e-4 or (c - c_ref).abs().max() / 200 > 1e-4:
        raise AssertionError("over 200 steps with the gates open (cell state about 200) lstm_cell drifts away from "
                             "nn.LSTMCell")


@quiet
def check_cell_gradcheck(lstm_cell: Callable) -> None:
    """torch.autograd.gradcheck passes in float64 with respect to every input and weight."""
    B, D, H = 3, 4, 2
    _, weights = _weights(D, H, seed=7, device="cpu", dtype=torch.float64)
    gen = torch.Generator().manual_seed(8)
    inputs = [torch.randn(B, D, generator=gen, dtype=torch.float64),
              torch.randn(B, H, generator=gen, dtype=torch.float64).tanh(),
              torch.randn(B, H, generator=gen, dtype=torch.float64)] + list(weights)
    inputs = [t.clone().requires_grad_(True) for t in inputs]
    h, c = _call_cell(lstm_cell, *inputs)
    if h.dtype != torch.float64 or c.dtype != torch.float64:
        raise AssertionError(f"with float64 inputs lstm_cell returned {h.dtype} / {c.dtype}: keep the "
                             f"inputs' dtype (do not create float32 tensors inside the cell)")
    if not (h.requires_grad and c.requires_grad):
        raise AssertionError("h and c carry no gradient: do not detach, use .data, .item() or NumPy inside the cell")
    try:
        ok = torch.autograd.gradcheck(lambda *a: tuple(_call_cell(lstm_cell, *a)), inputs,
                                      eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False)
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong as a failed check
        raise AssertionError(f"gradcheck could not run lstm_cell: {type(exc).__name__}: {exc}") from exc
    if not ok:
        raise AssertionError("torch.autograd.gradcheck failed: autograd's gradients of lstm_cell disagree with "
                             "finite differences. Avoid in-place changes of the inputs (e.g. c_prev *= f) "
                             "and non-differentiable steps (.detach(), .data, rounding)")
    # Large pre-activations in float32: the gradient must stay finite (saturated gates pass ~0 back).
    _, weights = _weights(3, 4, seed=170, device="cpu", scale=60.0)
    gen = torch.Generator().manual_seed(171)
    inputs = [torch.randn(5, 3, generator=gen), torch.randn(5, 4, generator=gen).tanh(),
              torch.randn(5, 4, generator=gen)] + list(weights)
    inputs = [t.clone().requires_grad_(True) for t in inputs]
    h, c = _call_cell(lstm_cell, *inputs)
    (h.sum() + c.sum()).backward()
    if any(t.grad is not None and not torch.isfinite(t.grad).all() for t in inputs):
        raise AssertionError("with large gate pre-activations (about 100, float32) the gradients of lstm_cell contain "
                             "NaN or inf: a sigmoid written as 1 / (1 + exp(-x)) overflows there; use torch.sigmoid "
                             "and torch.tanh")


# ============================================================================ the padded batch

def _padded_batch(B: int, T: int, D: int, lengths: list[int], seed: int, device, pad_value: float | None = 0.0):
    """x (B, T, D) with ``pad_value`` at padded positions (None: random values, like an embedding of
    <pad> without padding_idx), and lengths (B,)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, D, generator=gen)
    if pad_value is not None:
        for row, n in enumerate(lengths):
            x[row, n:] = pad_value
    return x.to(device), torch.tensor(lengths, device=device)


def _torch_layer(weights, x, lengths):
    """nn.LSTM over the packed batch: outputs (B, T, H) with zeros after each length, h_n, c_n (B, H).
    A row of length 0 (which packing refuses) gets zero outputs and zero final states."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    W_ih, W_hh, b_ih, b_hh = weights
    H = W_hh.shape[1]
    empty = lengths == 0
    if empty.any():
        B, T, _ = x.shape
        out = x.new_zeros(B, T, H)
        h_n, c_n = x.new_zeros(B, H), x.new_zeros(B, H)
        if (~empty).any():
            o, h, c = _torch_layer(weights, x[~empty], lengths[~empty])
            out[~empty], h_n[~empty], c_n[~empty] = o, h, c
        return out, h_n, c_n
    lstm = nn.LSTM(W_ih.shape[1], H, batch_first=True).to(x.device)
    with torch.no_grad():
        for name, w in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), weights):
            getattr(lstm, name).copy_(w)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, c_n) = lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, h_n[0], c_n[0]


def _call_layer(lstm_layer, x, lengths, weights, **kwargs):
    result = lstm_layer(x, lengths, weights, **kwargs)
    try:
        outputs, (h_n, c_n) = result
    except (TypeError, ValueError) as exc:
        raise AssertionError("lstm_layer must return (outputs, (h_n, c_n))") from exc
    return outputs, h_n, c_n


@quiet
def check_layer_lengths(lstm_layer: Callable) -> None:
    """With PyTorch's cell, lstm_layer matches nn.LSTM run on the packed batch: the outputs (zero
    after each sequence's end) and the final states at each sequence's last real step."""
    # (B, T, D, H, lengths, value at padded positions): all lengths equal, T = 1, an empty row
    # (length 0), and padding that is not zero (it must have no effect either way).
    cases = ((4, 6, 3, 5, [6, 2, 4, 1], 0.0), (3, 5, 2, 4, [5, 5, 5], 0.0), (5, 9, 4, 3, [3, 9, 1, 7, 2], None),
             (2, 1, 3, 2, [1, 1], None), (4, 5, 2, 3, [5, 0, 2, 0], None))
    for device in _devices():
        for seed, (B, T, D, H, lengths, pad_value) in enumerate(cases):
            _, weights = _weights(D, H, seed=300 + seed, device=device, scale=2.0)
            x, lens = _padded_batch(B, T, D, lengths, seed=400 + seed, device=device, pad_value=pad_value)
            before = _snapshot(x, lens, *weights)
            with torch.no_grad():
                outputs, h_n, c_n = _call_layer(lstm_layer, x, lens, weights, cell=torch_cell)
            _assert_unchanged(before, [x, lens, *weights], ["x", "lengths", "W_ih", "W_hh", "b_ih", "b_hh"],
                              "lstm_layer")
            out_ref, h_ref, c_ref = _torch_layer(weights, x, lens)
            if tuple(outputs.shape) != (B, T, H) or tuple(h_n.shape) != (B, H) or tuple(c_n.shape) != (B, H):
                raise AssertionError(f"shapes: outputs {tuple(outputs.shape)}, h_n {tuple(h_n.shape)}, c_n "
                                     f"{tuple(c_n.shape)}; expected (B, T, H) = {(B, T, H)} and (B, H) = {(B, H)}")
            mask = torch.arange(T, device=device)[None, :] < lens[:, None]            # (B, T)
            if (outputs[~mask] != 0).any():
                raise AssertionError("outputs must be exactly 0 at padded positions (t >= length), as "
                                     "pad_packed_sequence returns them")
            d_out = (outputs - out_ref).abs().max().item()
            if d_out > 1e-5:
                raise AssertionError(f"outputs at real positions differ from nn.LSTM's by {d_out:.3g} (lengths "
                                     f"{lengths}): run the cell step by step from zero states h_0 = c_0 = 0")
            dh, dc = (h_n - h_ref).abs().max().item(), (c_n - c_ref).abs().max().item()
            if dh > 1e-5 or dc > 1e-5:
                empty = " A row of length 0 is an empty sequence: its h_n and c_n stay the zero initial states." \
                    if 0 in lengths else ""
                raise AssertionError(f"h_n / c_n differ from the state at each sequence's last real step by "
                                     f"{dh:.3g} / {dc:.3g} (lengths {lengths}): a row's state must stop changing "
                                     f"once t >= its length (keep the old h and c there).{empty}")


@quiet
def check_gradient_reaches_first_step(lstm_layer: Callable) -> None:
    """With your cell, a loss on h_n has a non-zero, finite gradient with respect to the first input
    of every row (float64), for 100 steps with a forget-gate bias of 1 and for rows of different
    lengths with a bias of 3; inputs at padded positions get exactly zero gradient."""
    for seed, (B, T, D, H, bias, lengths) in enumerate(((2, 100, 3, 4, 1.0, [100, 100]),
                                                         (3, 60, 2, 5, 3.0, [60, 25, 1]))):
        _, weights = _weights(D, H, seed=11 + seed, device="cpu", dtype=torch.float64, forget_bias=bias)
        x = torch.randn(B, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(12 + seed))
        x.requires_grad_(True)
        lens = torch.tensor(lengths)
        try:
            _, h_n, _ = _call_layer(lstm_layer, x, lens, weights)
        except RuntimeError as exc:
            raise AssertionError(f"lstm_layer failed on float64 inputs ({exc}); create the initial state with "
                                 f"x's dtype and device, e.g. x.new_zeros(B, H)") from exc
        if not h_n.requires_grad:
            raise AssertionError("h_n carries no gradient: do not detach the state or use .data in lstm_layer")
        h_n.sum().backward()
        if x.grad is None:
            raise AssertionError("no gradient reached the input x: is something detached?")
        if not torch.isfinite(x.grad).all():
            raise AssertionError("the gradient with respect to x contains NaN or inf")
        first = x.grad[:, 0].abs().amax(dim=1)                     # (B,)
        if not (first > 0).all():
            raise AssertionError(f"the gradient of a loss on h_n is exactly 0 at the first step (lengths {lengths}, "
                                 f"T = {T}): the state must be passed from step to step without .detach() (and the "
                                 f"forget gate must multiply c_prev)")
        padded = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]          # (B, T)
        if padded.any() and x.grad[padded].abs().max() > 0:
            raise AssertionError(f"inputs at padded positions (t >= length, lengths {lengths}) receive a gradient "
                                 f"from h_n: padding must have no effect on a row's final state")


# ============================================================================ the memory task

def train_memory_task(lstm_cell: Callable, seed: int, device, **overrides) -> list[float]:
    """Train ``lstm_cell`` (with a linear read-out of the last h) on the memory task; return the
    held-out accuracies measured every ``eval_every`` steps, stopping once one reaches ``target``."""
    cfg = {**MEMORY, **overrides}
    V, H, C = cfg["vocab_size"], cfg["hidden_size"], cfg["num_classes"]
    _, weights = _weights(V, H, seed=seed, device=device, forget_bias=cfg["forget_bias"])
    weights = [w.requires_grad_(True) for w in weights]
    torch.manual_seed(seed)
    head = nn.Linear(H, C).to(device)
    params = weights + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=cfg["lr"])

    def logits_of(x: torch.Tensor) -> torch.Tensor:
        inputs = F.one_hot(x.to(device), V).float()                          # (B, T + 1, V)
        h = torch.zeros(x.shape[0], H, device=device)
        c = torch.zeros(x.shape[0], H, device=device)
        for t in range(x.shape[1]):
            h, c = _call_cell(lstm_cell, inputs[:, t], h, c, *weights)
        return head(h)                                                        # (B, C)

    x_eval, y_eval = memory_task(cfg["n_eval"], cfg["T"], C, V, seed=seed + 10_000)
    y_eval = y_eval.to(device)
    accuracies = []
    for step in range(cfg["max_steps"]):
        x, y = memory_task(cfg["batch_size"], cfg["T"], C, V, seed=seed * 100_000 + step)
        loss = F.cross_entropy(logits_of(x), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        if (step + 1) % cfg["eval_every"] == 0:
            with torch.no_grad():
                accuracies.append((logits_of(x_eval).argmax(-1) == y_eval).float().mean().item())
            if accuracies[-1] >= cfg["target"] or not math.isfinite(loss.item()):
                break
    return accuracies


@quiet
def check_memory_task(lstm_cell: Callable, device=None, seed: int = 1) -> None:
    """Your cell learns the T = 50 memory task to at least 95% held-out accuracy within 200 steps."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    accuracies = train_memory_task(lstm_cell, seed=seed, device=device)
    best = max(accuracies) if accuracies else float("nan")
    if not best >= MEMORY["target"]:
        raise AssertionError(
            f"after {MEMORY['max_steps']} training steps your cell reaches at most {best:.1%} on held-out sequences "
            f"of the T = {MEMORY['T']} memory task (chance is 25%; a correct LSTM cell passes 95% within about "
            f"50 to 150 steps). The check sets the forget-gate bias (rows H:2H of b_ih) to {MEMORY['forget_bias']}, "
            f"so the cell must read the gates in PyTorch's order i, f, g, o, with c = f * c_prev + i * g.")


# ============================================================================ the classifier

def _build(Classifier, vocab_size, embed_dim, hidden_size, num_classes, device, seed):
    torch.manual_seed(seed)
    try:
        model = Classifier(vocab_size, embed_dim, hidden_size, num_classes, cell=torch_cell)
    except TypeError as exc:
        raise AssertionError("LSTMClassifier(vocab_size, embed_dim, hidden_size, num_classes, cell=...) "
                             f"could not be built: {exc}") from exc
    return model.to(device)


def _forward(model, x, lengths, targets=None):
    out = model(x, lengths, targets=targets)
    try:
        logits, loss = out
    except (TypeError, ValueError) as exc:
        raise AssertionError("the classifier's forward must return (logits, loss)") from exc
    return logits, loss


def token_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """Not an LSTM: a "cell" whose h depends only on the current input and whose c is always 0.
    Run with it, a classifier that reads h_n must give each row the logits of its last real token."""
    H = W_hh.shape[1]
    return torch.tanh(x @ W_ih[:H].T + b_ih[:H]), torch.zeros_like(c_prev)


def _check_reads_last_real_h(Classifier, device) -> None:
    """With token_cell, each row's logits equal those of its last real token alone, and rows whose
    last tokens differ get different logits."""
    calls = []

    def spy(*args):
        calls.append(1)
        return token_cell(*args)

    V, E, H, C = 12, 5, 6, 3
    torch.manual_seed(31)
    try:
        model = Classifier(V, E, H, C, cell=spy).to(device).eval()
    except TypeError as exc:
        raise AssertionError(f"LSTMClassifier(..., cell=...) could not be built: {exc}") from exc
    x = torch.tensor([[3, 7, 2, 9, 4], [5, 8, 0, 0, 0], [6, 1, 11, 0, 0], [10, 0, 0, 0, 0]], device=device)
    lengths = torch.tensor([5, 2, 3, 1], device=device)
    with torch.no_grad():
        logits, _ = _forward(model, x, lengths)
        if not calls:
            return   # the classifier ignores `cell` (e.g. it uses nn.LSTM): nothing more to learn here
        last = x[torch.arange(4, device=device), lengths - 1]                   # (B,) last real tokens
        alone, _ = _forward(model, last[:, None], torch.ones(4, dtype=torch.long, device=device))
    if (logits - alone).abs().max() > 1e-5 or (logits[0] - logits[1]).abs().max() < 1e-6:
        raise AssertionError("the logits do not come from the hidden state h at each row's last real step: with a "
                             "test cell whose h depends only on the current token, a row's logits must equal those "
                             "of its last real token alone. Feed h_n (not c_n, not a mean or a sum over the "
                             "outputs, not the last padded position) to the linear layer")


@quiet
def check_classifier_final_real_step(Classifier) -> None:
    """Logits (B, C) and loss follow the course's interface, the logits are raw scores (not
    probabilities), and each row's logits come from the hidden state at its last real step: extra
    padding changes nothing, a row classified alone gets the same logits, and with a test cell
    whose h depends only on the current token, a row's logits are those of its last real token."""
    for device in _devices():
        _check_final_real_step(Classifier, device, V=20, E=6, H=5, C=3)
        _check_final_real_step(Classifier, device, V=15, E=3, H=7, C=2)
        _check_reads_last_real_h(Classifier, device)


def _check_final_real_step(Classifier, device, V: int, E: int, H: int, C: int) -> None:
    model = _build(Classifier, V, E, H, C, device, seed=21 + C).eval()
    gen = torch.Generator().manual_seed(22)
    lengths = [7, 3, 5, 1]
    x = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, n in enumerate(lengths):
        x[row, :n] = torch.randint(1, V, (n,), generator=gen)            # 0 is <pad>
    x, lens = x.to(device), torch.tensor(lengths, device=device)
    before = _snapshot(x, lens)
    with torch.no_grad():
        logits, loss = _forward(model, x, lens)
        _assert_unchanged(before, [x, lens], ["x", "lengths"], "the classifier's forward")
        if loss is not None:
            raise AssertionError("without targets the loss must be None")
        if tuple(logits.shape) != (len(lengths), C):
            raise AssertionError(f"logits have shape {tuple(logits.shape)}, expected (B, num_classes) = "
                                 f"{(len(lengths), C)}")
        if ((logits >= 0) & (logits <= 1)).all() and (logits.sum(-1) - 1).abs().max() < 1e-5:
            raise AssertionError("forward returns probabilities (they sum to 1): return the raw scores of the "
                                 "linear layer (logits); F.cross_entropy applies the softmax itself")
        targets = torch.tensor([0, C - 1, 1, C - 1], device=device)
        _, loss = _forward(model, x, lens, targets=targets)
        expected = F.cross_entropy(logits, targets)
        if loss is None or loss.dim() != 0 or abs(loss.item() - expected.item()) > 1e-5:
            raise AssertionError(f"with targets the loss must be F.cross_entropy(logits, targets) = "
                                 f"{expected.item():.4f}, got {loss}")
        longer = torch.cat([x, torch.zeros(len(lengths), 4, dtype=torch.long, device=device)], dim=1)
        logits_longer, _ = _forward(model, longer, lens)
        diff = (logits_longer - logits).abs().max().item()
        if diff > 1e-5:
            raise AssertionError(f"padding the same batch with 4 more <pad> columns changed the logits by "
                                 f"{diff:.3g}: classify from the hidden state at each row's last REAL step "
                                 f"(h_n), not from the last (padded) position")
        for row, n in enumerate(lengths):
            alone, _ = _forward(model, x[row:row + 1, :n], lens[row:row + 1])
            diff = (alone[0] - logits[row]).abs().max().item()
            if diff > 1e-5:
                raise AssertionError(f"row {row} (length {n}) gets different logits alone and in a padded "
                                     f"batch (difference {diff:.3g}): use the state at its last real step")


def review_tensors(reviews, vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ids (N, T), lengths (N,) and labels (N,) of reviews (texts present)."""
    ids, lengths = pad_sequences([vocab.encode(tokenize(r.text)) for r in reviews], pad_id=vocab.pad_id)
    return ids, lengths, torch.tensor([r.label for r in reviews])


def train_review_classifier(Classifier, device, seed: int = 0, **overrides) -> tuple[float, float]:
    """Train the classifier (with PyTorch's cell) on synthetic reviews; return (accuracy on held-out
    reviews, accuracy on their negated subset)."""
    cfg = {**REVIEWS, **overrides}
    train = make_reviews(cfg["n_train"], seed=seed + 1)
    test = make_reviews(cfg["n_test"], seed=seed + 2)
    vocab = Vocab.build([tokenize(r.text) for r in train], specials=("<pad>", "<unk>"))
    x, lengths, y = review_tensors(train, vocab)
    model = _build(Classifier, len(vocab), cfg["embed_dim"], cfg["hidden_size"], 2, device, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(train), generator=gen)
        for start in range(0, len(train), cfg["batch_size"]):
            idx = order[start:start + cfg["batch_size"]]
            n = int(lengths[idx].max())                       # trim the batch to its longest row
            _, loss = _forward(model, x[idx, :n].to(device), lengths[idx].to(device), y[idx].to(device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    model.eval()
    xt, lt, yt = review_tensors(test, vocab)
    with torch.no_grad():
        logits, _ = _forward(model, xt.to(device), lt.to(device))
    correct = (logits.argmax(-1).cpu() == yt)
    negated = torch.tensor([r.kind == "negated" for r in test])
    return correct.float().mean().item(), correct[negated].float().mean().item()


@quiet
def check_classifier_accuracy(Classifier, device=None, seed: int = 1) -> None:
    """Trained for a fixed budget (with PyTorch's cell), the classifier reaches 85% on held-out
    synthetic reviews."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    accuracy, negated = train_review_classifier(Classifier, device, seed=seed)
    if not accuracy >= REVIEWS["target"]:
        raise AssertionError(
            f"after {REVIEWS['epochs']} epochs on {REVIEWS['n_train']} synthetic reviews the classifier reaches "
            f"{accuracy:.1%} on held-out ones (negated: {negated:.1%}); expected at least {REVIEWS['target']:.0%}. "
            f"Feed the final REAL hidden state h_n to the linear layer, embed with padding_idx=0, and make "
            f"every weight an nn.Parameter (or a submodule) so that the optimizer trains it")
