"""Hidden checks of assignment a07 (attention, multi-head attention, positional encodings).

Each check takes the student's function or class, is deterministic (seeded), writes nothing to
stdout or stderr, and raises ``AssertionError`` with a message the student can act on.

The checks are independent where they can be, so that one mistake costs the cells that test what
it breaks:

- the attention checks compare ``scaled_dot_product_attention`` with
  ``F.scaled_dot_product_attention`` (several shapes, scales and masks), check masked weights,
  causality with a correct mask, that the inputs are left unchanged, and ``gradcheck`` in float64;
- ``causal_mask`` is checked for its values and, with PyTorch's own attention, for blocking the
  future;
- the multi-head checks copy the weights of ``nn.MultiheadAttention`` into the student's module
  (several B, T, d_model, h; no mask, causal and padding masks); they run the student's module,
  which calls the student's attention, so a wrong attention also costs these cells;
- the positional-encoding check compares with the formula for several sizes;
- the learning check trains a one-block model built on the student's ``MultiHeadAttention`` (with
  the correct encodings from this module) to reverse sequences; the threshold and step budget are
  measured in ``tests/test_a07_checks.py`` (see ``REVERSE``).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from autograder.common import extra_device, quiet

# The reverse task: sequences of T = 8 symbols out of 10, the target at position i is the input at
# position T - 1 - i. One pre-norm block (d_model 32, 4 heads, feed-forward 64) on the student's
# attention, sinusoidal positions, Adam 3e-3, batches of 64 fresh sequences, at most `max_steps`
# steps, held-out token accuracy on 512 sequences every `eval_every` steps (chance: 10%).
REVERSE = dict(T=8, vocab_size=10, d_model=32, num_heads=4, d_ff=64, lr=3e-3, batch_size=64,
               max_steps=600, eval_every=50, n_eval=512, target=0.9)
MASK_HINT = "mask is boolean and True where a query MAY attend to a key (as in F.scaled_dot_product_attention)"


def _devices() -> list[torch.device]:
    extra = extra_device()
    return [torch.device("cpu")] + ([extra] if extra is not None else [])


def sinusoidal_reference(max_len: int, d_model: int) -> torch.Tensor:
    """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)), float32 (max_len, d_model)."""
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    for p in range(max_len):
        for i in range(0, d_model, 2):
            angle = p / 10000 ** (i / d_model)
            pe[p, i] = math.sin(angle)
            if i + 1 < d_model:
                pe[p, i + 1] = math.cos(angle)
    return pe.float()


def _call_attention(attention, *args, **kwargs):
    out = attention(*args, **kwargs)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"scaled_dot_product_attention must return a pair (output, weights); it returned "
                             f"{type(out).__name__}")
    if not all(isinstance(t, torch.Tensor) for t in out):
        raise AssertionError("scaled_dot_product_attention must return a pair of tensors (output, weights); got "
                             f"({type(out[0]).__name__}, {type(out[1]).__name__})")
    return out


def _qkv(shape_q, shape_k, d_v, seed, device, dtype=torch.float32, spread=1.0):
    gen = torch.Generator().manual_seed(seed)
    q = spread * torch.randn(*shape_q, generator=gen, dtype=dtype)
    k = spread * torch.randn(*shape_k, generator=gen, dtype=dtype)
    v = torch.randn(*shape_k[:-1], d_v, generator=gen, dtype=dtype)
    return q.to(device), k.to(device), v.to(device)


def _random_mask(shape, seed, device):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(*shape, generator=gen) > 0.5
    mask[..., 0] = True                                   # every query may attend to at least one key
    return mask.to(device)


# ============================================================================ attention

# (q shape, k shape, d_v): batch dims, T_q != T_k, d_v != d_k, no batch dims at all
_ATTENTION_CASES = (((2, 5, 4), (2, 5, 4), 4), ((3, 2, 6, 8), (3, 2, 7, 8), 5), ((1, 1, 3), (1, 9, 3), 2),
                    ((4, 16), (11, 16), 3), ((2, 3, 1, 2), (2, 3, 1, 2), 2))


@quiet
def check_attention_matches_torch(attention: Callable) -> None:
    """Outputs equal F.scaled_dot_product_attention's (no mask, boolean masks, explicit scale) for
    several shapes; weights are softmax(q k^T * scale) with shape (..., T_q, T_k); inputs unchanged."""
    for device in _devices():
        for seed, (sq, sk, d_v) in enumerate(_ATTENTION_CASES):
            q, k, v = _qkv(sq, sk, d_v, seed=10 + seed, device=device, spread=2.0)
            originals = [t.clone() for t in (q, k, v)]
            for mask in (None, _random_mask(sq[:-1] + (sk[-2],), seed=20 + seed, device=device)):
                out, weights = _call_attention(attention, q, k, v, mask)
                for name, t, t0 in zip("qkv", (q, k, v), originals):
                    if not torch.equal(t, t0):
                        raise AssertionError(f"scaled_dot_product_attention changed its input {name} in place "
                                             f"(e.g. q /= ...); compute new tensors instead")
                expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
                what = "without a mask" if mask is None else "with a boolean mask"
                if tuple(out.shape) != tuple(expected.shape):
                    raise AssertionError(f"q {sq}, k {sk}, v {tuple(v.shape)} {what}: output has shape "
                                         f"{tuple(out.shape)}, expected (..., T_q, d_v) = {tuple(expected.shape)}")
                if tuple(weights.shape) != sq[:-1] + (sk[-2],):
                    raise AssertionError(f"weights have shape {tuple(weights.shape)}, expected (..., T_q, T_k) = "
                                         f"{sq[:-1] + (sk[-2],)}")
                diff = (out - expected).abs().max().item()
                if not diff < 1e-4:
                    raise AssertionError(
                        f"q {sq}, k {sk} {what}: output differs from F.scaled_dot_product_attention by {diff:.3g}. "
                        f"Compute softmax(q @ k^T / sqrt(d_k)) over the LAST dimension (the keys), with d_k = "
                        f"q.shape[-1], and multiply by v" + ("" if mask is None else f"; the {MASK_HINT}, and "
                        f"masked scores must be -inf BEFORE the softmax so that each row still sums to 1"))
                scores = q @ k.transpose(-2, -1) / math.sqrt(sq[-1])
                if mask is not None:
                    scores = scores.masked_fill(~mask, float("-inf"))
                wdiff = (weights - scores.softmax(-1)).abs().max().item()
                if not wdiff < 1e-5:
                    raise AssertionError(f"q {sq}, k {sk} {what}: the returned weights differ from "
                                         f"softmax(q k^T / sqrt(d_k)) by {wdiff:.3g}")
            for scale in (0.1, 1.0):
                out, _ = _call_attention(attention, q, k, v, None, scale=scale)
                diff = (out - F.scaled_dot_product_attention(q, k, v, scale=scale)).abs().max().item()
                if not diff < 1e-4:
                    raise AssertionError(f"with scale={scale} the output differs from F.scaled_dot_product_attention"
                                         f"(..., scale={scale}) by {diff:.3g}: scale multiplies q k^T and replaces "
                                         f"1 / sqrt(d_k) (None means 1 / sqrt(d_k))")


@quiet
def check_attention_mask(attention: Callable) -> None:
    """Masked weights are exactly 0, every row sums to 1, an all-True mask changes nothing, and with
    a causal mask perturbing a future position changes no earlier output."""
    for device in _devices():
        q, k, v = _qkv((3, 6, 4), (3, 6, 4), 5, seed=30, device=device, spread=2.0)
        mask = _random_mask((3, 6, 6), seed=31, device=device)
        _, weights = _call_attention(attention, q, k, v, mask)
        if (weights[~mask] != 0).any():
            raise AssertionError(f"weights at masked positions must be exactly 0 ({MASK_HINT}); the largest is "
                                 f"{weights[~mask].abs().max().item():.3g}")
        sums = weights.sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-5):
            raise AssertionError(f"with a mask every row of weights must still sum to 1 over the keys (sums range "
                                 f"{sums.min().item():.3f}..{sums.max().item():.3f}): set masked scores to -inf "
                                 f"before the softmax, do not zero the weights after it")
        out_all, _ = _call_attention(attention, q, k, v, torch.ones(6, 6, dtype=torch.bool, device=device))
        out_none, _ = _call_attention(attention, q, k, v, None)
        if not torch.allclose(out_all, out_none, atol=1e-6):
            raise AssertionError(f"an all-True mask must give the same output as no mask ({MASK_HINT})")
        # causality: a (T, T) lower-triangular mask, broadcast over the batch
        T = 7
        causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()
        x = torch.randn(2, T, 4, generator=torch.Generator().manual_seed(32)).to(device)
        base, _ = _call_attention(attention, x, x, x, causal)
        for t in range(1, T):
            changed = x.clone()
            changed[:, t] += 3.0
            out, _ = _call_attention(attention, changed, changed, changed, causal)
            leak = (out[:, :t] - base[:, :t]).abs().max().item()
            if leak != 0.0:
                raise AssertionError(f"with a causal mask, changing position {t} changed the output at an earlier "
                                     f"position by {leak:.3g}: masked keys must get weight exactly 0 ({MASK_HINT})")
            if (out[:, t:] - base[:, t:]).abs().max().item() == 0.0:
                raise AssertionError(f"with a causal mask, changing position {t} changed nothing at positions >= {t}; "
                                     f"a position must see itself and the positions before it")


@quiet
def check_attention_gradcheck(attention: Callable) -> None:
    """torch.autograd.gradcheck passes in float64 with respect to q, k and v, with and without a mask."""
    q, k, v = _qkv((2, 4, 3), (2, 5, 3), 2, seed=40, device="cpu", dtype=torch.float64)
    mask = _random_mask((2, 4, 5), seed=41, device="cpu")
    for m in (None, mask):
        inputs = [t.clone().requires_grad_(True) for t in (q, k, v)]
        try:
            out, _ = _call_attention(attention, *inputs, m)
        except Exception as exc:  # noqa: BLE001 - report whatever went wrong as a failed check
            raise AssertionError(f"scaled_dot_product_attention failed on float64 inputs that require grad: "
                                 f"{type(exc).__name__}: {exc} (avoid in-place operations on the inputs)") from exc
        if out.dtype != torch.float64 or not out.requires_grad:
            raise AssertionError("with float64 inputs that require grad the output must be float64 and carry a "
                                 "gradient: keep the inputs' dtype; do not detach or use .data / NumPy")
        try:
            ok = torch.autograd.gradcheck(lambda a, b, c: _call_attention(attention, a, b, c, m)[0], inputs,
                                          eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"gradcheck could not run: {type(exc).__name__}: {exc}") from exc
        if not ok:
            raise AssertionError("torch.autograd.gradcheck failed: autograd's gradients disagree with finite "
                                 "differences. Avoid in-place changes of the inputs and non-differentiable steps")


# ============================================================================ the causal mask

@quiet
def check_causal_mask(causal_mask: Callable) -> None:
    """causal_mask(T) is a (T, T) bool tensor, True on and below the diagonal, on the requested
    device; with it PyTorch's attention lets no position see a later one."""
    for device in _devices():
        for T in (1, 2, 5, 9):
            mask = causal_mask(T, device=device)
            if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
                raise AssertionError(f"causal_mask must return a torch.bool tensor, got "
                                     f"{getattr(mask, 'dtype', type(mask).__name__)}")
            if tuple(mask.shape) != (T, T) or mask.device.type != device.type:
                raise AssertionError(f"causal_mask({T}) has shape {tuple(mask.shape)} on {mask.device}; expected "
                                     f"({T}, {T}) on {device}")
            expected = torch.ones(T, T, dtype=torch.bool, device=device).tril()
            if not torch.equal(mask, expected):
                wrong = (mask != expected).nonzero().tolist()[:3]
                raise AssertionError(f"causal_mask({T}) is wrong at (query, key) {wrong}: query t may attend to keys "
                                     f"0..t, itself included (True on and below the diagonal)")
        x = torch.randn(1, 2, 6, 4, generator=torch.Generator().manual_seed(50)).to(device)
        changed = x.clone()
        changed[:, :, 4] += 1.0
        m = causal_mask(6, device=device)
        diff = (F.scaled_dot_product_attention(changed, changed, changed, attn_mask=m)
                - F.scaled_dot_product_attention(x, x, x, attn_mask=m))[:, :, :4].abs().max().item()
        if diff != 0.0:
            raise AssertionError("with your mask, changing position 4 changes earlier outputs: the future leaks")
    # the `device` argument is honoured on any machine: "meta" tensors carry a device but no data
    for T in (1, 4):
        try:
            mask = causal_mask(T, device=torch.device("meta"))
        except Exception as exc:  # noqa: BLE001 - report whatever went wrong as a failed check
            raise AssertionError(f"causal_mask({T}, device=torch.device('meta')) failed: {type(exc).__name__}: "
                                 f"{exc}; create the mask directly on `device` (torch.ones(..., device=device))"
                                 ) from exc
        if not isinstance(mask, torch.Tensor) or mask.device.type != "meta" or tuple(mask.shape) != (T, T):
            raise AssertionError(f"causal_mask({T}, device='meta') returned a tensor on "
                                 f"{getattr(mask, 'device', None)} with shape {tuple(getattr(mask, 'shape', ()))}; "
                                 f"expected ({T}, {T}) on meta: create the mask on the `device` argument")


# ============================================================================ multi-head attention

def _build_mha(MHA, d_model, num_heads, device, dtype=torch.float32):
    try:
        module = MHA(d_model, num_heads)
    except TypeError as exc:
        raise AssertionError(f"MultiHeadAttention(d_model, num_heads) could not be built: {exc}") from exc
    names = ("q_proj", "k_proj", "v_proj", "out_proj")
    for name in names:
        layer = getattr(module, name, None)
        if not isinstance(layer, nn.Linear) or tuple(layer.weight.shape) != (d_model, d_model) or layer.bias is None:
            raise AssertionError(f"MultiHeadAttention needs four nn.Linear(d_model, d_model) layers (with bias) named "
                                 f"{', '.join(names)}; {name} is {layer!r}")
    return module.to(device=device, dtype=dtype)


def _copy_from_torch(module, torch_mha):
    with torch.no_grad():
        for proj, weight, bias in zip((module.q_proj, module.k_proj, module.v_proj),
                                      torch_mha.in_proj_weight.chunk(3), torch_mha.in_proj_bias.chunk(3)):
            proj.weight.copy_(weight)
            proj.bias.copy_(bias)
        module.out_proj.weight.copy_(torch_mha.out_proj.weight)
        module.out_proj.bias.copy_(torch_mha.out_proj.bias)


def _call_mha(module, x, mask=None):
    out = module(x, mask)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"MultiHeadAttention.forward must return (output, weights); it returned {type(out).__name__}")
    return out


@quiet
def check_mha_shapes(MHA) -> None:
    """Output (B, T, d_model), weights (B, h, T, T) rows summing to 1; 4 d^2 + 4 d parameters."""
    for device in _devices():
        for B, T, d, h in ((2, 5, 8, 2), (1, 1, 4, 4), (3, 7, 12, 3), (4, 3, 6, 1)):
            module = _build_mha(MHA, d, h, device)
            n_params = sum(p.numel() for p in module.parameters())
            if n_params != 4 * d * d + 4 * d:
                raise AssertionError(f"MultiHeadAttention({d}, {h}) has {n_params} parameters; expected the four "
                                     f"projections only: 4 * d^2 + 4 * d = {4 * d * d + 4 * d}")
            x = torch.randn(B, T, d, generator=torch.Generator().manual_seed(B * T + d)).to(device)
            out, weights = _call_mha(module, x)
            if tuple(out.shape) != (B, T, d):
                raise AssertionError(f"B={B}, T={T}, d_model={d}, h={h}: output shape {tuple(out.shape)}, expected {(B, T, d)}")
            if tuple(weights.shape) != (B, h, T, T):
                raise AssertionError(f"B={B}, T={T}, d_model={d}, h={h}: weights shape {tuple(weights.shape)}, expected "
                                     f"(B, num_heads, T, T) = {(B, h, T, T)}")
            if not torch.allclose(weights.sum(-1), torch.ones(B, h, T, device=device), atol=1e-5):
                raise AssertionError("every row of every head's weights must sum to 1 over the keys")


_MHA_CASES = ((2, 5, 8, 2), (3, 7, 12, 3), (1, 6, 16, 4), (4, 4, 6, 1), (2, 9, 32, 8))


@quiet
def check_mha_matches_torch(MHA) -> None:
    """With nn.MultiheadAttention's weights copied in, outputs and per-head weights agree for several
    (B, T, d_model, h), without a mask, with a causal mask and with a key-padding mask."""
    for device in _devices():
        for seed, (B, T, d, h) in enumerate(_MHA_CASES):
            torch.manual_seed(60 + seed)
            ref = nn.MultiheadAttention(d, h, batch_first=True).to(device)
            with torch.no_grad():                          # larger weights: the scores are not all near 0
                ref.in_proj_weight.mul_(2.0)
                ref.in_proj_bias.normal_(0, 0.5)
                ref.out_proj.bias.normal_(0, 0.5)
            module = _build_mha(MHA, d, h, device)
            _copy_from_torch(module, ref)
            x = torch.randn(B, T, d, generator=torch.Generator().manual_seed(70 + seed)).to(device)
            causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()
            lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(80 + seed)).to(device)
            real = torch.arange(T, device=device)[None, :] < lengths[:, None]           # (B, T) keys that exist
            cases = (("no mask", None, {}), ("a causal mask", causal, {"attn_mask": ~causal}),
                     ("a key-padding mask (B, 1, 1, T)", real[:, None, None, :], {"key_padding_mask": ~real}))
            for what, ours_mask, torch_kwargs in cases:
                with torch.no_grad():
                    out, weights = _call_mha(module, x, ours_mask)
                    out_ref, w_ref = ref(x, x, x, average_attn_weights=False, **torch_kwargs)
                if tuple(out.shape) != tuple(out_ref.shape) or tuple(weights.shape) != tuple(w_ref.shape):
                    raise AssertionError(f"shapes: output {tuple(out.shape)}, weights {tuple(weights.shape)}; expected "
                                         f"{tuple(out_ref.shape)} and {tuple(w_ref.shape)}")
                dw = (weights - w_ref).abs().max().item()
                do = (out - out_ref).abs().max().item()
                if not (dw < 1e-4 and do < 1e-4):
                    raise AssertionError(
                        f"B={B}, T={T}, d_model={d}, h={h} with {what}: differs from nn.MultiheadAttention with the same "
                        f"weights (weights by {dw:.3g}, output by {do:.3g}). Project q, k and v with q_proj, k_proj, "
                        f"v_proj; split the features into h heads of d_k = d_model / h with .view(B, T, h, d_k)."
                        f"transpose(1, 2); scale by 1 / sqrt(d_k) of a head (not of d_model); merge with "
                        f".transpose(1, 2).reshape(B, T, d_model); apply out_proj")


@quiet
def check_mha_gradcheck(MHA) -> None:
    """gradcheck in float64 through the module, with respect to the input and a causal mask applied."""
    module = _build_mha(MHA, 6, 2, "cpu", dtype=torch.float64)
    x = torch.randn(2, 4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(90)).requires_grad_(True)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    try:
        ok = torch.autograd.gradcheck(lambda t: _call_mha(module, t, causal)[0], (x,), eps=1e-6, atol=1e-5,
                                      rtol=1e-3, raise_exception=False)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"gradcheck could not run MultiHeadAttention in float64: {type(exc).__name__}: {exc}") from exc
    if not ok:
        raise AssertionError("gradcheck failed for MultiHeadAttention (float64): gradients disagree with finite differences")


# ============================================================================ positional encodings

@quiet
def check_positions(sinusoidal_positions: Callable) -> None:
    """Values and shape equal the formula PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)."""
    for max_len, d in ((1, 2), (10, 4), (50, 16), (7, 64), (128, 32)):
        pe = sinusoidal_positions(max_len, d)
        if not isinstance(pe, torch.Tensor) or pe.dtype != torch.float32:
            raise AssertionError(f"sinusoidal_positions must return a float32 tensor, got "
                                 f"{getattr(pe, 'dtype', type(pe).__name__)}")
        if tuple(pe.shape) != (max_len, d):
            raise AssertionError(f"sinusoidal_positions({max_len}, {d}) has shape {tuple(pe.shape)}, expected "
                                 f"(max_len, d_model) = {(max_len, d)}")
        expected = sinusoidal_reference(max_len, d)
        diff = (pe.cpu() - expected).abs()
        if not diff.max().item() < 1e-4:
            p, j = divmod(int(diff.argmax()), d)
            kind = "sin" if j % 2 == 0 else "cos"
            raise AssertionError(
                f"sinusoidal_positions({max_len}, {d})[{p}, {j}] = {pe[p, j].item():.4f}, expected {kind}({p} / "
                f"10000^({j - j % 2}/{d})) = {expected[p, j].item():.4f}. Even features (0, 2, ...) are sines, odd "
                f"features cosines; features 2i and 2i+1 share the frequency 1 / 10000^(2i / d_model)")


# ============================================================================ learning to reverse

class _ReverseModel(nn.Module):
    """Embedding + sinusoidal positions -> one pre-norm block on the student's attention -> logits."""

    def __init__(self, MHA, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.embed = nn.Embedding(cfg["vocab_size"], d)
        self.register_buffer("pe", sinusoidal_reference(cfg["T"], d))
        self.attn = MHA(d, cfg["num_heads"])
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, cfg["d_ff"]), nn.ReLU(), nn.Linear(cfg["d_ff"], d))
        self.head = nn.Linear(d, cfg["vocab_size"])

    def forward(self, x):                                   # x (B, T) -> logits (B, T, vocab_size)
        h = self.embed(x) + self.pe
        h = h + _call_mha(self.attn, self.norm1(h))[0]
        h = h + self.ff(self.norm2(h))
        return self.head(self.norm3(h))


def train_reverse_task(MHA, seed: int, device, **overrides) -> list[float]:
    """Train a one-block model on the student's attention to reverse sequences; return the held-out
    token accuracy every ``eval_every`` steps, stopping once one reaches ``target``."""
    cfg = {**REVERSE, **overrides}
    torch.manual_seed(seed)
    model = _ReverseModel(MHA, cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    gen = torch.Generator().manual_seed(10_000 + seed)
    x_eval = torch.randint(0, cfg["vocab_size"], (cfg["n_eval"], cfg["T"]), generator=gen).to(device)
    accuracies = []
    for step in range(cfg["max_steps"]):
        x = torch.randint(0, cfg["vocab_size"], (cfg["batch_size"], cfg["T"]), generator=gen).to(device)
        loss = F.cross_entropy(model(x).flatten(0, 1), x.flip(1).flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if (step + 1) % cfg["eval_every"] == 0:
            with torch.no_grad():
                accuracies.append((model(x_eval).argmax(-1) == x_eval.flip(1)).float().mean().item())
            if accuracies[-1] >= cfg["target"] or not math.isfinite(loss.item()):
                break
    return accuracies


@quiet
def check_reverse_task(MHA, device=None, seed: int = 1) -> None:
    """A one-block model on your MultiHeadAttention learns to reverse sequences of 8 symbols."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    accuracies = train_reverse_task(MHA, seed=seed, device=device)
    best = max(accuracies) if accuracies else float("nan")
    if not best >= REVERSE["target"]:
        raise AssertionError(
            f"after {REVERSE['max_steps']} steps a one-block model on your MultiHeadAttention reverses only "
            f"{best:.1%} of held-out symbols (chance 10%, a correct attention passes {REVERSE['target']:.0%} well "
            f"within the budget). Position i must be able to attend to position T-1-i: check the scaling, the "
            f"softmax axis (over the keys) and how heads are split and merged")
