"""Hidden checks of assignment a06 (attention pooling, the attention classifier, one decoder step
of dot-product attention).

Each check takes the student's function or class, is deterministic (seeded), writes nothing to
stdout or stderr, and raises ``AssertionError`` with a message the student can act on.

The checks are independent, so that one mistake costs the points of the cells that test what it
breaks and no others:

- the pooling checks call only the student's ``attention_pool``;
- the classifier checks build the student's ``AttentionClassifier`` with this module's reference
  pooling (:func:`reference_pool`) as its ``pool`` argument, so a wrong pooling does not cost the
  classifier's points twice, and they compare the student's ``forward_with_weights`` with
  :func:`reference_forward`, which runs the same submodules (the layers are given in the
  notebook, so their names are fixed);
- the decoder-step checks compare with PyTorch's ``F.scaled_dot_product_attention``;
- the accuracy check trains for a fixed budget; its margin is measured in
  ``tests/test_a06_checks.py`` (see ``REVIEWS``).

Why there is no check of the score bias ``b`` in ``e_i = w . h_i + b``: softmax is invariant to
adding one number to every score, so dropping ``b`` leaves the weights unchanged; it is not a
mistake and no check may fail it.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from autograder.common import extra_device, quiet
from seqlab.reviews import make_reviews
from seqlab.text import Vocab, pad_sequences, tokenize

# The accuracy check: trained with the reference pooling on synthetic reviews for a fixed budget
# (Adam, clipping at 1), scored on reviews of another seed.
REVIEWS = dict(n_train=2000, n_test=1000, embed_dim=32, hidden_size=32, lr=5e-3, epochs=5,
               batch_size=64, target=0.85)
POOL_HINT = ("e = score(states).squeeze(-1) has shape (B, T); set it to -inf where mask is False, take the "
             "softmax over the time axis (dim 1), and return context = sum_t weights[:, t, None] * states[:, t]")


def _devices() -> list[torch.device]:
    extra = extra_device()
    return [torch.device("cpu")] + ([extra] if extra is not None else [])


# ============================================================================ references

def reference_pool(states: torch.Tensor, mask: torch.Tensor, score: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked attention pooling computed with PyTorch's own attention.

    ``F.scaled_dot_product_attention`` with the score layer's weight vector ``w`` as the single
    query, the states as keys and values, ``scale=1`` and the mask as ``attn_mask`` computes
    ``softmax(w . h_i)`` over the real positions and the weighted sum; the bias ``b`` cancels in the
    softmax. The weights come from the same call with the identity matrix as the values.
    """
    B, T, D = states.shape
    query = score.weight.to(states.dtype).reshape(1, 1, D).expand(B, 1, D)              # (B, 1, D)
    attn_mask = mask[:, None, :].to(torch.bool)                                         # (B, 1, T)
    context = F.scaled_dot_product_attention(query, states, states, attn_mask=attn_mask, scale=1.0)
    eye = torch.eye(T, dtype=states.dtype, device=states.device).expand(B, T, T)
    weights = F.scaled_dot_product_attention(query, states, eye, attn_mask=attn_mask, scale=1.0)
    return context[:, 0], weights[:, 0]                                                 # (B, D), (B, T)


def reference_forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``forward_with_weights`` must compute with the model's own submodules: ``self.dropout``
    on the pooled context only (the identity in eval mode; in training mode the same random mask as
    the student's code draws after the same ``torch.manual_seed``)."""
    packed = pack_padded_sequence(model.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
    states, _ = model.lstm(packed)
    states, _ = pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])   # (B, T, 2H)
    mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
    context, weights = reference_pool(states, mask, model.score)
    return model.head(model.dropout(context)), weights


def reference_decoder_step(y_prev, h_prev, enc_outputs, src_mask, cell, combine):
    """The decoder step with PyTorch's attention: (output, h, weights)."""
    h = cell(y_prev, h_prev)                                                            # (B, H)
    B, S, H = enc_outputs.shape
    attn_mask = src_mask[:, None, :].to(torch.bool)
    query = h[:, None, :]                                                               # (B, 1, H)
    context = F.scaled_dot_product_attention(query, enc_outputs, enc_outputs, attn_mask=attn_mask)[:, 0]
    eye = torch.eye(S, dtype=h.dtype, device=h.device).expand(B, S, S)
    weights = F.scaled_dot_product_attention(query, enc_outputs, eye, attn_mask=attn_mask)[:, 0]
    output = torch.tanh(combine(torch.cat([context, h], dim=-1)))
    return output, h, weights


# ============================================================================ helpers

def _lengths_mask(lengths: list[int], T: int, device) -> torch.Tensor:
    return torch.arange(T, device=device)[None, :] < torch.tensor(lengths, device=device)[:, None]


def _score(D: int, seed: int, device, dtype=torch.float32, scale: float = 1.0) -> nn.Linear:
    torch.manual_seed(seed)
    score = nn.Linear(D, 1).to(device=device, dtype=dtype)
    with torch.no_grad():
        score.weight.mul_(scale)
    return score


def _call_pool(attention_pool, states, mask, score):
    out = attention_pool(states, mask, score)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"attention_pool must return a pair (context, weights); it returned {type(out).__name__}")
    context, weights = out
    for name, value in (("context", context), ("weights", weights)):
        if not isinstance(value, torch.Tensor):
            raise AssertionError(f"{name} must be a tensor, got {type(value).__name__}")
    return context, weights


def _check_distribution(weights: torch.Tensor, mask: torch.Tensor, what: str) -> None:
    """Rows are >= 0, exactly 0 where mask is False, and sum to 1."""
    if not torch.isfinite(weights).all():
        raise AssertionError(f"{what}: the weights contain NaN or inf (a row of only -inf scores? a softmax "
                             f"over the wrong axis?)")
    if (weights[~mask] != 0).any():
        raise AssertionError(f"{what}: padded positions have weight {weights[~mask].abs().max().item():.3g}; it "
                             f"must be exactly 0. Set their scores to -inf BEFORE the softmax (a score of 0 "
                             f"still gets weight)")
    if (weights < 0).any():
        raise AssertionError(f"{what}: negative weights; the weights come from a softmax")
    sums = weights.sum(dim=-1)
    worst = (sums - 1).abs().max().item()
    if worst > 1e-5:
        raise AssertionError(f"{what}: each row of weights must sum to 1 over its real positions (off by "
                             f"{worst:.3g}). Take the softmax over the positions (the time axis) after masking; "
                             f"zeroing the padding after the softmax leaves rows that sum to less than 1")


# ============================================================================ attention_pool

@quiet
def check_pool_shapes(attention_pool: Callable) -> None:
    """context (B, D) and weights (B, T), with the dtype and device of the states, for several sizes."""
    for device in _devices():
        for B, T, D, lengths in ((1, 1, 1, [1]), (3, 5, 4, [5, 2, 4]), (2, 7, 6, [7, 7]), (4, 3, 10, [1, 3, 2, 1]),
                                 (5, 6, 6, [6, 1, 6, 3, 2])):
            states = torch.randn(B, T, D, generator=torch.Generator().manual_seed(B * T + D)).to(device)
            mask = _lengths_mask(lengths, T, device)
            context, weights = _call_pool(attention_pool, states, mask, _score(D, seed=T, device=device))
            if tuple(context.shape) != (B, D) or tuple(weights.shape) != (B, T):
                raise AssertionError(f"with B={B}, T={T}, D={D}: context has shape {tuple(context.shape)} and weights "
                                     f"{tuple(weights.shape)}; expected (B, D) = {(B, D)} and (B, T) = {(B, T)}. "
                                     f"Sum over the time axis (dim 1) to get the context")
            for name, value in (("context", context), ("weights", weights)):
                if value.device.type != device.type or value.dtype != states.dtype:
                    raise AssertionError(f"{name} is a {value.dtype} tensor on {value.device}; expected "
                                         f"{states.dtype} on {device}, like the states")


@quiet
def check_pool_masking(attention_pool: Callable) -> None:
    """Weights sum to 1 over the real tokens and are exactly 0 on padding; what the padding holds,
    how much of it there is, and a row's batch-mates change nothing; the inputs are not modified."""
    for device in _devices():
        B, T, D = 4, 6, 5
        lengths = [6, 2, 4, 1]
        gen = torch.Generator().manual_seed(1)
        states = torch.randn(B, T, D, generator=gen).to(device)
        mask = _lengths_mask(lengths, T, device)
        score = _score(D, seed=2, device=device, scale=3.0)
        states_before, mask_before = states.clone(), mask.clone()
        with torch.no_grad():
            context, weights = _call_pool(attention_pool, states, mask, score)
        if not torch.equal(states, states_before) or not torch.equal(mask, mask_before):
            raise AssertionError("attention_pool modified its inputs in place (states or mask); compute new tensors")
        _check_distribution(weights, mask, "attention_pool")
        if (weights[3, 0] - 1).abs() > 1e-6 or (context[3] - states[3, 0]).abs().max() > 1e-5:
            raise AssertionError("a row with one real token must put weight 1 on it, and its context must be that "
                                 "token's state")
        # Large garbage at the padded positions: nothing may change.
        noisy = states.clone()
        noisy[~mask] = 1e3 * torch.randn(int((~mask).sum()), D, generator=gen).to(device)
        # More padding: 3 extra columns of garbage.
        longer = torch.cat([noisy, 1e3 * torch.randn(B, 3, D, generator=gen).to(device)], dim=1)
        longer_mask = torch.cat([mask, torch.zeros(B, 3, dtype=torch.bool, device=device)], dim=1)
        with torch.no_grad():
            for what, s, m in (("changing the padded states", noisy, mask),
                               ("3 more padded positions", longer, longer_mask)):
                c2, w2 = _call_pool(attention_pool, s, m, score)
                if (c2 - context).abs().max().item() > 1e-4 or (w2[:, :T] - weights).abs().max().item() > 1e-6:
                    raise AssertionError(f"{what} changed the output of attention_pool: padding must be ignored "
                                         f"(scores -inf before the softmax, so the padded states get weight 0)")
                _check_distribution(w2, m, f"attention_pool with {what}")
            for row, n in enumerate(lengths):
                c1, w1 = _call_pool(attention_pool, states[row:row + 1, :n], mask[row:row + 1, :n], score)
                if (c1[0] - context[row]).abs().max().item() > 1e-5 or (w1[0] - weights[row, :n]).abs().max() > 1e-6:
                    raise AssertionError(f"row {row} (length {n}) gets a different result alone than in the batch: "
                                         f"the softmax must run over each row's own positions (dim 1), not over the "
                                         f"batch")


@quiet
def check_pool_values(attention_pool: Callable) -> None:
    """Context and weights equal PyTorch's attention (float64) on fixed inputs; pooling is
    invariant to permuting the time axis together with the mask; gradients reach the states and
    the score layer's weight."""
    for seed, (B, T, D, lengths, scale) in enumerate(((2, 4, 3, [4, 2], 1.0), (3, 6, 5, [1, 6, 3], 4.0),
                                                      (4, 5, 5, [5, 5, 2, 4], 2.0))):
        gen = torch.Generator().manual_seed(10 + seed)
        states = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
        mask = _lengths_mask(lengths, T, "cpu")
        score = _score(D, seed=20 + seed, device="cpu", dtype=torch.float64, scale=scale)
        with torch.no_grad():
            context, weights = _call_pool(attention_pool, states, mask, score)
            c_ref, w_ref = reference_pool(states, mask, score)
        if weights.dtype != torch.float64 or context.dtype != torch.float64:
            raise AssertionError("with float64 states attention_pool must return float64 tensors (do not create "
                                 "float32 tensors inside)")
        dw, dc = (weights - w_ref).abs().max().item(), (context - c_ref).abs().max().item()
        if dw > 1e-10 or dc > 1e-10:
            raise AssertionError(f"attention_pool differs from the reference (largest difference: weights {dw:.3g}, "
                                 f"context {dc:.3g}) for B={B}, T={T}, D={D}, lengths {lengths}. {POOL_HINT}")
        # Permute the time axis of states and mask together (a different permutation per row).
        order = torch.stack([torch.randperm(T, generator=gen) for _ in range(B)])            # (B, T)
        states_p = states.gather(1, order[..., None].expand(B, T, D))
        mask_p = mask.gather(1, order)
        with torch.no_grad():
            context_p, weights_p = _call_pool(attention_pool, states_p, mask_p, score)
        if (context_p - context).abs().max().item() > 1e-10 or \
                (weights_p - weights.gather(1, order)).abs().max().item() > 1e-10:
            raise AssertionError("permuting the positions (states and mask together) changed the context, or the "
                                 "weights did not move with their positions: attention pooling is a weighted sum "
                                 "over the positions that are real in the mask, wherever they are")
    # Gradients.
    states = torch.randn(3, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(30)).requires_grad_(True)
    mask = _lengths_mask([5, 3, 2], 5, "cpu")
    score = _score(4, seed=31, device="cpu", dtype=torch.float64)
    context, weights = _call_pool(attention_pool, states, mask, score)
    if not context.requires_grad:
        raise AssertionError("the context carries no gradient: do not detach, use .data, .item() or NumPy")
    (context ** 2).sum().backward()
    if states.grad is None or score.weight.grad is None:
        raise AssertionError("no gradient reached the states or the score layer's weight: compute the scores "
                             "with score(states) and keep everything differentiable")
    if not torch.isfinite(states.grad).all() or not score.weight.grad.abs().sum() > 0:
        raise AssertionError("the gradient with respect to the score layer is zero or not finite: the weights "
                             "must come from the scores (softmax of score(states)), and the context from the weights")
    if (states.grad[~mask] != 0).any():
        raise AssertionError("padded states receive a gradient: they must not influence the context")


# ============================================================================ the classifier

def _build(Classifier, vocab_size, embed_dim, hidden_size, num_classes, device, seed, dropout=0.5):
    torch.manual_seed(seed)
    try:
        model = Classifier(vocab_size, embed_dim, hidden_size, num_classes, dropout=dropout, pool=reference_pool)
    except TypeError as exc:
        raise AssertionError("AttentionClassifier(vocab_size, embed_dim, hidden_size, num_classes, dropout=..., "
                             f"pool=...) could not be built: {exc}") from exc
    return model.to(device)


def _with_weights(model, x, lengths):
    out = model.forward_with_weights(x, lengths)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError("forward_with_weights must return a pair (logits, weights)")
    logits, weights = out
    if not isinstance(weights, torch.Tensor):
        raise AssertionError(f"forward_with_weights must return the attention weights as its second value, a "
                             f"(B, T) tensor; got {type(weights).__name__}")
    return logits, weights


def _review_batch(V: int, lengths: list[int], seed: int, device):
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, n in enumerate(lengths):
        x[row, :n] = torch.randint(1, V, (n,), generator=gen)             # 0 is <pad>
    return x.to(device), torch.tensor(lengths, device=device)


@quiet
def check_classifier_outputs(Classifier) -> None:
    """forward_with_weights returns logits (B, C) and weights (B, T) equal to the reference (eval
    mode), weights 0 on padding; forward follows (logits, loss); more padding or a row alone
    changes nothing; dropout is active in training mode only, on the context (same seed, same logits
    as head(dropout(context)))."""
    V, E, H, C = 25, 6, 5, 3
    for device in _devices():
        model = _build(Classifier, V, E, H, C, device, seed=41).eval()
        x, lengths = _review_batch(V, [7, 3, 5, 1], seed=42, device=device)
        with torch.no_grad():
            logits, weights = _with_weights(model, x, lengths)
            if tuple(logits.shape) != (4, C) or tuple(weights.shape) != tuple(x.shape):
                raise AssertionError(f"logits have shape {tuple(logits.shape)} and weights {tuple(weights.shape)}; "
                                     f"expected (B, num_classes) = {(4, C)} and (B, T) = {tuple(x.shape)}")
            mask = torch.arange(x.shape[1], device=device)[None, :] < lengths[:, None]
            _check_distribution(weights, mask, "forward_with_weights")
            ref_logits, ref_weights = reference_forward(model, x, lengths)
            dl, dw = (logits - ref_logits).abs().max().item(), (weights - ref_weights).abs().max().item()
            if dl > 1e-5 or dw > 1e-5:
                raise AssertionError(
                    f"in eval mode the logits (difference {dl:.3g}) or weights ({dw:.3g}) differ from embed -> BiLSTM "
                    f"over the PACKED batch -> self.pool(states, mask, self.score) with mask = positions < lengths -> "
                    f"self.dropout -> self.head. Without packing, the backward LSTM starts on the padding")
            out = model(x, lengths)
            if not isinstance(out, (tuple, list)) or len(out) != 2 or out[1] is not None:
                raise AssertionError("forward(x, lengths) without targets must return (logits, None)")
            targets = torch.tensor([0, 2, 1, 2], device=device)
            _, loss = model(x, lengths, targets=targets)
            expected = F.cross_entropy(logits, targets)
            if loss is None or loss.dim() != 0 or abs(loss.item() - expected.item()) > 1e-5:
                raise AssertionError(f"forward with targets must return the loss F.cross_entropy(logits, targets) = "
                                     f"{expected.item():.4f}; got {loss}")
            longer = torch.cat([x, torch.zeros(4, 4, dtype=torch.long, device=device)], dim=1)
            logits_l, weights_l = _with_weights(model, longer, lengths)
            if (logits_l - logits).abs().max().item() > 1e-5 or (weights_l[:, :x.shape[1]] - weights).abs().max() > 1e-6:
                raise AssertionError("4 more <pad> columns changed the logits or the weights: pack the batch (so the "
                                     "BiLSTM never reads padding) and mask the padding in the attention")
            for row, n in enumerate(lengths.tolist()):
                alone, _ = _with_weights(model, x[row:row + 1, :n], lengths[row:row + 1])
                if (alone[0] - logits[row]).abs().max().item() > 1e-5:
                    raise AssertionError(f"row {row} (length {n}) gets different logits alone and in a padded batch")
            model.train()
            torch.manual_seed(0)
            first, _ = _with_weights(model, x, lengths)
            second, _ = _with_weights(model, x, lengths)
            if torch.equal(first, second):
                raise AssertionError("in training mode two forward passes gave identical logits: apply self.dropout "
                                     "(p = 0.5) to the context before the last layer")
            for seed in (0, 1):                       # the same random dropout mask on both sides
                torch.manual_seed(seed)
                logits_train, _ = _with_weights(model, x, lengths)
                torch.manual_seed(seed)
                expected_train, _ = reference_forward(model, x, lengths)
                if tuple(logits_train.shape) != tuple(expected_train.shape) or \
                        (logits_train - expected_train).abs().max().item() > 1e-5:
                    raise AssertionError("in training mode, after the same torch.manual_seed, the logits differ from "
                                         "self.head(self.dropout(context)): apply self.dropout once, to the pooled "
                                         "context only (not to the embeddings, the BiLSTM states or the logits)")
            model.eval()
            again, _ = _with_weights(model, x, lengths)
            if not torch.equal(again, logits):
                raise AssertionError("in eval mode the logits are not deterministic: use the module self.dropout "
                                     "(it switches off in eval mode), not F.dropout(..., training=True)")


@quiet
def check_classifier_gradients(Classifier) -> None:
    """A loss on the logits sends non-zero gradients to the score layer, both directions of the
    BiLSTM (the encoder), the embedding and the last layer."""
    V, E, H, C = 20, 4, 3, 2
    model = _build(Classifier, V, E, H, C, "cpu", seed=51)
    x, lengths = _review_batch(V, [6, 4, 2], seed=52, device="cpu")
    model.train()
    logits, loss = model(x, lengths, targets=torch.tensor([1, 0, 1]))
    if loss is None or not loss.requires_grad:
        raise AssertionError("the loss carries no gradient: do not detach anything in forward_with_weights")
    loss.backward()
    wanted = {"score.weight": model.score.weight, "lstm.weight_ih_l0": model.lstm.weight_ih_l0,
              "lstm.weight_ih_l0_reverse": model.lstm.weight_ih_l0_reverse, "embed.weight": model.embed.weight,
              "head.weight": model.head.weight}
    missing = [name for name, p in wanted.items() if p.grad is None or not p.grad.abs().sum() > 0]
    if missing:
        raise AssertionError(f"no gradient reached {missing}: the logits must be computed from self.head applied to "
                             f"the pooled context of the BiLSTM states, with the scores from self.score")


def review_tensors(reviews, vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ids (N, T), lengths (N,) and labels (N,) of reviews."""
    ids, lengths = pad_sequences([vocab.encode(tokenize(r.text)) for r in reviews], pad_id=vocab.pad_id)
    return ids, lengths, torch.tensor([r.label for r in reviews])


def train_review_classifier(Classifier, device, seed: int = 0, pool: Callable = reference_pool,
                            **overrides) -> tuple[float, float]:
    """Train the classifier (with ``pool``) on synthetic reviews; return (accuracy on held-out
    reviews, accuracy on their negated subset)."""
    cfg = {**REVIEWS, **overrides}
    train = make_reviews(cfg["n_train"], seed=seed + 1)
    test = make_reviews(cfg["n_test"], seed=seed + 2)
    vocab = Vocab.build([tokenize(r.text) for r in train], specials=("<pad>", "<unk>"))
    x, lengths, y = review_tensors(train, vocab)
    torch.manual_seed(seed)
    model = Classifier(len(vocab), cfg["embed_dim"], cfg["hidden_size"], 2, dropout=0.5, pool=pool).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(train), generator=gen)
        for start in range(0, len(train), cfg["batch_size"]):
            idx = order[start:start + cfg["batch_size"]]
            n = int(lengths[idx].max())                       # trim the batch to its longest row
            _, loss = model(x[idx, :n].to(device), lengths[idx].to(device), targets=y[idx].to(device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    model.eval()
    xt, lt, yt = review_tensors(test, vocab)
    with torch.no_grad():
        logits, _ = _with_weights(model, xt.to(device), lt.to(device))
    correct = logits.argmax(-1).cpu() == yt
    negated = torch.tensor([r.kind == "negated" for r in test])
    return correct.float().mean().item(), correct[negated].float().mean().item()


@quiet
def check_classifier_accuracy(Classifier, device=None, seed: int = 1) -> None:
    """Trained for a fixed budget (with the reference pooling), the classifier reaches 85% on
    held-out synthetic reviews."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    accuracy, negated = train_review_classifier(Classifier, device, seed=seed)
    if not accuracy >= REVIEWS["target"]:
        raise AssertionError(
            f"after {REVIEWS['epochs']} epochs on {REVIEWS['n_train']} synthetic reviews the classifier reaches "
            f"{accuracy:.1%} on held-out ones (negated: {negated:.1%}); expected at least {REVIEWS['target']:.0%}. "
            f"Pool the BiLSTM states of the packed batch with self.pool and feed the context to self.head")


# ============================================================================ the decoder step

def _decoder_parts(E: int, H: int, seed: int, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.GRUCell(E, H).to(dtype), nn.Linear(2 * H, H).to(dtype)


def _call_step(decoder_step, *args):
    out = decoder_step(*args)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise AssertionError("attention_decoder_step must return (output, h, weights)")
    return out


def _step_inputs(B, S, E, H, lengths, seed, dtype=torch.float64, scale: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    y_prev = torch.randn(B, E, generator=gen, dtype=dtype)
    h_prev = torch.randn(B, H, generator=gen, dtype=dtype).tanh()
    enc = scale * torch.randn(B, S, H, generator=gen, dtype=dtype)
    return y_prev, h_prev, enc, _lengths_mask(lengths, S, "cpu")


@quiet
def check_decoder_step_values(attention_decoder_step: Callable) -> None:
    """output, h and weights equal a reference built on F.scaled_dot_product_attention (float64),
    for several (B, S, E, H), including S == H; gradients reach the cell, the combine layer and the
    encoder outputs."""
    cases = ((2, 4, 3, 5, [4, 2], 1.0), (3, 6, 2, 6, [6, 1, 3], 3.0), (1, 3, 4, 2, [3], 2.0), (4, 5, 5, 3, [5, 5, 4, 2], 4.0))
    for seed, (B, S, E, H, lengths, scale) in enumerate(cases):
        cell, combine = _decoder_parts(E, H, seed=60 + seed)
        args = _step_inputs(B, S, E, H, lengths, seed=70 + seed, scale=scale)
        with torch.no_grad():
            try:
                output, h, weights = _call_step(attention_decoder_step, *args, cell, combine)
            except RuntimeError as exc:
                raise AssertionError(f"attention_decoder_step failed for B={B}, S={S}, E={E}, H={H}: {exc}. Scores "
                                     f"are enc_outputs (B, S, H) times h (B, H, 1); the context is weights (B, 1, S) "
                                     f"times enc_outputs (B, S, H)") from exc
            ref = reference_decoder_step(*args, cell, combine)
        for name, value, expected in (("h", h, ref[1]), ("weights", weights, ref[2]), ("output", output, ref[0])):
            if tuple(value.shape) != tuple(expected.shape):
                raise AssertionError(f"{name} has shape {tuple(value.shape)}, expected {tuple(expected.shape)} "
                                     f"(B={B}, S={S}, H={H})")
            diff = (value - expected).abs().max().item()
            if diff > 1e-8:
                hint = {"h": "h = cell(y_prev, h_prev), the new decoder state",
                        "weights": "scores = (enc_outputs . h) / sqrt(H) with the NEW state h, -inf at padding, "
                                   "softmax over the source positions",
                        "output": "output = tanh(combine(cat([context, h], dim=-1))), context first, with the "
                                  "current step's context"}[name]
                raise AssertionError(f"{name} differs from the reference by {diff:.3g} (B={B}, S={S}, E={E}, H={H}, "
                                     f"lengths {lengths}): {hint}")
    # Gradients.
    cell, combine = _decoder_parts(3, 4, seed=80)
    y_prev, h_prev, enc, mask = _step_inputs(2, 5, 3, 4, [5, 3], seed=81)
    enc.requires_grad_(True)
    output, h, weights = _call_step(attention_decoder_step, y_prev, h_prev, enc, mask, cell, combine)
    output.sum().backward()
    for name, grad in (("cell.weight_ih", cell.weight_ih.grad), ("combine.weight", combine.weight.grad),
                       ("enc_outputs", enc.grad)):
        if grad is None or not grad.abs().sum() > 0:
            raise AssertionError(f"no gradient reached {name}: keep the step differentiable (no detach, no .data)")


@quiet
def check_decoder_step_mask(attention_decoder_step: Callable) -> None:
    """The weights are a distribution over the real source positions (0 at padding); what the
    padded encoder outputs hold, extra padding, and batch-mates change nothing; inputs unchanged."""
    B, S, E, H, lengths = 3, 6, 4, 5, [6, 2, 4]
    cell, combine = _decoder_parts(E, H, seed=90)
    y_prev, h_prev, enc, mask = _step_inputs(B, S, E, H, lengths, seed=91, scale=2.0)
    before = [t.clone() for t in (y_prev, h_prev, enc, mask)]
    with torch.no_grad():
        output, h, weights = _call_step(attention_decoder_step, y_prev, h_prev, enc, mask, cell, combine)
        if any(not torch.equal(a, b) for a, b in zip(before, (y_prev, h_prev, enc, mask))):
            raise AssertionError("attention_decoder_step modified its inputs in place; compute new tensors")
        _check_distribution(weights, mask, "attention_decoder_step")
        noisy = enc.clone()
        noisy[~mask] = 100 * torch.randn(int((~mask).sum()), H, generator=torch.Generator().manual_seed(92),
                                         dtype=enc.dtype)
        longer = torch.cat([noisy, 100 * torch.ones(B, 2, H, dtype=enc.dtype)], dim=1)
        longer_mask = torch.cat([mask, torch.zeros(B, 2, dtype=torch.bool)], dim=1)
        for what, e, m in (("changing the padded encoder outputs", noisy, mask), ("2 more padded positions", longer, longer_mask)):
            o2, _, w2 = _call_step(attention_decoder_step, y_prev, h_prev, e, m, cell, combine)
            if (o2 - output).abs().max().item() > 1e-8 or (w2[:, :S] - weights).abs().max().item() > 1e-10:
                raise AssertionError(f"{what} changed the decoder step's output or weights: the padded source "
                                     f"positions must get score -inf before the softmax (src_mask False)")
        for row, n in enumerate(lengths):
            o1, _, w1 = _call_step(attention_decoder_step, y_prev[row:row + 1], h_prev[row:row + 1],
                                   enc[row:row + 1, :n], mask[row:row + 1, :n], cell, combine)
            if (o1[0] - output[row]).abs().max().item() > 1e-8:
                raise AssertionError(f"row {row} (source length {n}) gets a different output alone than in the "
                                     f"batch: the softmax must run over each row's source positions (dim -1)")
