"""a07 (attention, heads, positions): the hidden checks pass the reference and catch every
catalogued mistake, each in exactly the test cells its catalogue entry names.

In-process: the source notebook's code cells run in this process, then its test cells (visible
part, then hidden part). ``tests/test_grading.py`` repeats it for a covering subset of the mutants with real
``nbgrader autograde``; this file finds a broken check faster and says which. The margin behind
the learning check (the reverse task) is measured here too.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import assignment_utils as au
from autograder import a07_transformer as checks
from autograder.mutants import apply_mutant, load_catalogue

ASSIGNMENT = "a07_transformer"
SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the test cells), output discarded."""
    return au.exec_code_cells(nb, skip=set(TESTS))


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


def test_catalogue_covers_the_required_mistakes():
    """The mistakes the assignment's issue names are all in the catalogue (and at least 10)."""
    required = {"no_scaling", "scale_by_d_model", "softmax_over_queries", "mask_inverted", "mask_after_softmax",
                "heads_split_mixes_positions", "heads_split_mixes_batch", "output_projection_missing",
                "sin_cos_swapped", "frequency_exponent_i", "causal_diagonal_blocked", "keys_tied_to_queries"}
    assert required <= {m.name for m in MUTANTS}
    assert len(MUTANTS) >= 10


@pytest.mark.parametrize("gid", TESTS)
def test_reference_passes_every_test_cell_silently(reference_ns, gid, capfd):
    """Visible and hidden checks pass on the reference; the hidden ones print nothing at all."""
    au.assert_test_cell_passes_silently(SOURCE, gid, reference_ns, capfd)


@pytest.mark.parametrize("mutant", au.mutant_params(MUTANTS))
def test_mutant_fails_exactly_its_cells(mutant):
    """The mutant fails exactly the test cells its ``fails`` names, and each of them in its hidden
    part too (so the mistake is caught even if a student edits the visible checks)."""
    nb = apply_mutant(SOURCE, mutant)
    ns = namespace(nb)
    au.assert_mutant_fails_exactly_its_cells(mutant, nb, ns, TESTS)


# ----------------------------------------------------------------------------- margin of the learning check

@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_reverse_check_margin(reference_ns):
    """A correct attention reaches the 90% target within 200 of the 600 allowed steps for every
    seed tried (the notebook's seed 0 and the check's seed 1 included)."""
    for seed in range(5):
        accuracies = checks.train_reverse_task(reference_ns["MultiHeadAttention"], seed=seed, device="cpu")
        steps = len(accuracies) * checks.REVERSE["eval_every"]
        assert accuracies[-1] >= checks.REVERSE["target"] and steps <= 200, f"seed {seed}: {accuracies}"


def test_reverse_task_needs_attention():
    """Without attention (a module that returns its input), one block cannot reverse: the check is
    about attention, not about the feed-forward layer."""

    class NoAttention(nn.Module):
        def __init__(self, d_model, num_heads):
            super().__init__()
            self.q_proj = self.k_proj = self.v_proj = self.out_proj = nn.Linear(d_model, d_model)

        def forward(self, x, mask=None):
            return torch.zeros_like(x), None

    accuracies = checks.train_reverse_task(NoAttention, seed=1, device="cpu")
    assert max(accuracies) < 0.3, accuracies


# ----------------------------------------------------------------------------- other correct solutions pass

def _attention_einsum(q, k, v, mask=None, scale=None):
    """Another correct attention: einsum, a large negative number instead of -inf, explicit exp."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = torch.einsum("...qd,...kd->...qk", q, k) * scale
    if mask is not None:
        scores = torch.where(mask, scores, torch.full_like(scores, -1e30))
    scores = scores - scores.amax(dim=-1, keepdim=True)
    weights = scores.exp() * (mask if mask is not None else 1)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return torch.einsum("...qk,...kd->...qd", weights, v), weights


class _LoopHeads(nn.Module):
    """Another correct multi-head attention: a Python loop over the heads, slices of the features."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        self.h, self.d_k = num_heads, d_model // num_heads
        self.q_proj, self.k_proj = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.v_proj, self.out_proj = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)

    def forward(self, x, mask=None):
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        outs, weights = [], []
        for i in range(self.h):
            part = slice(i * self.d_k, (i + 1) * self.d_k)
            m = None if mask is None else (mask[:, i] if mask.dim() == 4 and mask.shape[1] == self.h else
                                           mask.squeeze(1) if mask.dim() == 4 else mask)
            o, w = _attention_einsum(q[..., part], k[..., part], v[..., part], m)
            outs.append(o)
            weights.append(w)
        return self.out_proj(torch.cat(outs, dim=-1)), torch.stack(weights, dim=1)


def _positions_loop(max_len, d_model):
    pe = torch.empty(max_len, d_model)
    for p in range(max_len):
        for j in range(d_model):
            angle = p / 10000 ** ((j - j % 2) / d_model)
            pe[p, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return pe


def test_checks_accept_other_correct_implementations():
    for check in (checks.check_attention_matches_torch, checks.check_attention_mask,
                  checks.check_attention_gradcheck):
        check(_attention_einsum)
    for check in (checks.check_mha_shapes, checks.check_mha_matches_torch, checks.check_mha_gradcheck,
                  checks.check_reverse_task):
        check(_LoopHeads)
    checks.check_positions(_positions_loop)
    checks.check_causal_mask(lambda T, device=None: torch.arange(T, device=device)[:, None]
                             >= torch.arange(T, device=device)[None, :])


def _wrong_axis(q, k, v):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -2)
    return weights @ v, weights


def test_failure_messages_help():
    with pytest.raises(AssertionError, match="LAST dimension"):
        checks.check_attention_matches_torch(
            lambda q, k, v, mask=None, scale=None: _wrong_axis(q, k, v))
    with pytest.raises(AssertionError, match="pair"):
        checks.check_attention_matches_torch(lambda q, k, v, mask=None, scale=None: F.scaled_dot_product_attention(q, k, v))
    with pytest.raises(AssertionError, match="itself included"):
        checks.check_causal_mask(lambda T, device=None: torch.ones(T, T, dtype=torch.bool, device=device).tril(-1))
    with pytest.raises(AssertionError, match="Even features"):
        checks.check_positions(lambda n, d: _positions_loop(n, d).roll(1, dims=1))
    with pytest.raises(AssertionError, match="q_proj"):
        checks.check_mha_shapes(lambda d, h: nn.Linear(d, d))
