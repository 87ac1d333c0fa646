"""a06 (attention): the hidden checks pass the reference and catch every catalogued mistake, each
in exactly the test cells its catalogue entry names.

In-process: the source notebook's code cells run in this process, then its test cells (visible
part, then hidden part). ``tests/test_grading.py`` repeats it for a covering subset of the mutants with real
``nbgrader autograde``; this file finds a broken check faster and says which. The margin behind
the accuracy check is measured here too, and correct solutions written differently must pass.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import assignment_utils as au
from autograder import a06_attention as checks
from autograder.mutants import apply_mutant, load_catalogue

ASSIGNMENT = "a06_attention"
SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)
# The training checks, each with the solution cells whose names it reads (proven by
# test_slow_checks_use_only_their_cells; what that proof leaves out: assert_check_uses_only): a
# mutant of any other cell skips them in process.
SLOW_CHECKS = {"test_classifier_accuracy": {"attention_classifier"}}


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the test cells), output discarded."""
    return au.exec_code_cells(nb, skip=set(TESTS))


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


def test_catalogue_covers_the_required_mistakes():
    """The mistakes the assignment's issue names are all in the catalogue (the score bias excepted:
    dropping it is not a mistake, see test_score_bias_is_not_a_mistake)."""
    required = {"softmax_over_batch", "softmax_over_hidden", "mask_after_softmax", "mask_value_zero",
                "context_summed_over_hidden", "weights_not_returned", "pool_weights_before_masking",
                "scores_not_scaled", "padding_states_used", "source_padding_used", "previous_state_query",
                "wrong_operand_transposed"}
    assert required <= {m.name for m in MUTANTS} and len(MUTANTS) >= 10


@pytest.mark.parametrize("gid", TESTS)
def test_reference_passes_every_test_cell_silently(reference_ns, gid, capfd):
    """Visible and hidden checks pass on the reference; the hidden ones print nothing at all
    (nbgrader scores a cell 0 on any stderr output)."""
    au.assert_test_cell_passes_silently(SOURCE, gid, reference_ns, capfd)


@pytest.mark.parametrize("mutant", au.mutant_params(MUTANTS))
def test_mutant_fails_exactly_its_cells(mutant):
    """The mutant fails exactly the test cells its ``fails`` names, and each of them in its hidden
    part too (so the mistake is caught even if a student edits the visible checks)."""
    nb = apply_mutant(SOURCE, mutant)
    ns = namespace(nb)
    au.assert_mutant_fails_exactly_its_cells(mutant, nb, ns, TESTS, skip=au.slow_checks_to_skip(mutant, SLOW_CHECKS))


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
@pytest.mark.parametrize("gid", SLOW_CHECKS)
def test_slow_checks_use_only_their_cells(gid):
    au.assert_check_uses_only(SOURCE, gid, SLOW_CHECKS[gid], namespace)


def test_the_proof_fails_when_a_check_uses_a_cell_taken_away():
    """assert_check_uses_only can fail: the classifier check needs the classifier's own cell."""
    with pytest.raises(AssertionError, match="the check used AttentionClassifier"):
        au.assert_check_uses_only(SOURCE, "test_classifier_accuracy", {"attention_pool"}, namespace)


# ----------------------------------------------------------------------------- the bias, the margin

def test_score_bias_is_not_a_mistake(reference_ns):
    """Dropping b from e = w . h + b leaves the pooling unchanged, so the checks must (and do) pass it."""
    def pool_without_bias(states, mask, score):
        scores = (states @ score.weight.T).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=1)
        return (weights.unsqueeze(-1) * states).sum(dim=1), weights
    for check in (checks.check_pool_shapes, checks.check_pool_masking, checks.check_pool_values):
        check(pool_without_bias)


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_classifier_accuracy_margin(reference_ns):
    """The reference is well above the 85% threshold for every seed tried; a classifier that reads
    the last padded state instead of pooling is well below it."""
    for seed in (0, 1, 2):
        accuracy, negated = checks.train_review_classifier(reference_ns["AttentionClassifier"], "cpu", seed=seed)
        assert accuracy >= 0.95 and negated >= 0.9, (seed, accuracy, negated)
    bad = namespace(apply_mutant(SOURCE, next(m for m in MUTANTS if m.name == "last_state_not_pooled")))
    accuracy, _ = checks.train_review_classifier(bad["AttentionClassifier"], "cpu", seed=1)
    assert accuracy < 0.75, accuracy


def test_reference_pool_agrees_with_the_solution(reference_ns):
    """The two references (the checks' F.scaled_dot_product_attention one and the notebook's
    solution) agree, also with a score layer whose bias is large."""
    gen = torch.Generator().manual_seed(0)
    states = torch.randn(3, 6, 4, generator=gen, dtype=torch.float64)
    mask = torch.arange(6)[None, :] < torch.tensor([6, 1, 4])[:, None]
    score = nn.Linear(4, 1).double()
    with torch.no_grad():
        score.bias.fill_(7.0)
        for a, b in zip(checks.reference_pool(states, mask, score), reference_ns["attention_pool"](states, mask, score)):
            assert torch.allclose(a, b, atol=1e-12)


# ----------------------------------------------------------------------------- other correct solutions pass

def _pool_einsum(states, mask, score):
    """Another correct pooling: explicit w . h, a max-subtracted exp normalised by hand, einsum."""
    e = torch.einsum("btd,d->bt", states, score.weight[0]) + score.bias
    e = torch.where(mask, e, torch.full_like(e, -math.inf))
    e = e - e.max(dim=1, keepdim=True).values
    w = torch.exp(e)
    w = w / w.sum(dim=1, keepdim=True)
    return torch.einsum("bt,btd->bd", w, states), w


def _step_einsum(y_prev, h_prev, enc_outputs, src_mask, cell, combine):
    """Another correct decoder step: einsum scores, F.softmax on masked scores with a large negative
    number replaced by -inf through where, matmul context, combine's weight split in two blocks."""
    h = cell(y_prev, h_prev)
    H = h.shape[-1]
    scores = torch.einsum("bsh,bh->bs", enc_outputs, h) * H ** -0.5
    weights = F.softmax(torch.where(src_mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype)), dim=-1)
    context = (weights.unsqueeze(-1) * enc_outputs).sum(1)
    W_c, W_h = combine.weight[:, :H], combine.weight[:, H:]
    return torch.tanh(context @ W_c.T + h @ W_h.T + combine.bias), h, weights


def test_checks_accept_other_correct_implementations():
    for check in (checks.check_pool_shapes, checks.check_pool_masking, checks.check_pool_values):
        check(_pool_einsum)
    checks.check_decoder_step_values(_step_einsum)
    checks.check_decoder_step_mask(_step_einsum)

    class GatherClassifier(nn.Module):
        """A correct classifier written differently: LSTM states through packing, mask from x != 0
        (ids of real tokens are never 0), weights returned as computed by the pooling."""

        def __init__(self, vocab_size, embed_dim, hidden_size, num_classes, dropout=0.5, pool=None):
            super().__init__()
            self.pool = pool or _pool_einsum
            self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
            self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=True)
            self.score = nn.Linear(2 * hidden_size, 1)
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(2 * hidden_size, num_classes)

        def forward_with_weights(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True,
                                                       enforce_sorted=False)
            out, _ = self.lstm(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            context, weights = self.pool(out, x != 0, self.score)
            return self.head(self.dropout(context)), weights

        def forward(self, x, lengths, targets=None):
            logits, _ = self.forward_with_weights(x, lengths)
            return logits, None if targets is None else F.cross_entropy(logits, targets)

    checks.check_classifier_outputs(GatherClassifier)
    checks.check_classifier_gradients(GatherClassifier)


def test_failure_messages_help(reference_ns):
    nb = apply_mutant(SOURCE, next(m for m in MUTANTS if m.name == "mask_value_zero"))
    with pytest.raises(AssertionError, match="-inf BEFORE the softmax"):
        checks.check_pool_masking(namespace(nb)["attention_pool"])
    nb = apply_mutant(SOURCE, next(m for m in MUTANTS if m.name == "scores_not_scaled"))
    with pytest.raises(AssertionError, match="sqrt"):
        checks.check_decoder_step_values(namespace(nb)["attention_decoder_step"])
    with pytest.raises(AssertionError, match="must return a pair"):
        checks.check_pool_shapes(lambda states, mask, score: states)
    assert checks.REVIEWS["target"] >= 0.8
