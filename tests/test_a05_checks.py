"""a05 (word embeddings): the hidden checks pass the reference and catch every catalogued mistake,
each in exactly the test cells its catalogue entry names.

In-process: the source notebook's code cells run in this process, then its test cells (visible
part, then hidden part). ``tests/test_grading.py`` repeats it for a covering subset of the mutants with real
``nbgrader autograde``; this file finds a broken check faster and says which. The margins behind
the learning checks (GloVe training, held-out accuracy) are measured here too, and correct
solutions written differently from the reference pass.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import assignment_utils as au
from autograder import a05_embeddings as checks
from autograder.mutants import apply_mutant, load_catalogue

ASSIGNMENT = "a05_embeddings"
SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)
# The training checks, each with the solution cells whose names it reads (proven by
# test_slow_checks_use_only_their_cells; what that proof leaves out: assert_check_uses_only): a
# mutant of any other cell skips them in process.
SLOW_CHECKS = {"test_heldout_accuracy": {"classifier"}}
# train_glove (given code) trains GloVe with the student's counts and loss; the held-out check does
# not read what it defines, so the proof runs without it.
PROOF_WITHOUT = ("train_glove",)


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the test cells), output discarded."""
    return au.exec_code_cells(nb, skip=set(TESTS))


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


def test_catalogue_covers_the_required_mistakes():
    """The mistakes the assignment's issue names are all in the catalogue (at least 10)."""
    required = {"unweighted_window", "one_sided_counts", "log_of_zero_counts", "f_without_cap", "f_alpha_one",
                "context_bias_forgotten", "oov_rows_zero", "rows_off_by_one", "embedding_not_frozen",
                "first_layer_state", "cosine_without_normalising"}
    assert required <= {m.name for m in MUTANTS} and len(MUTANTS) >= 10


@pytest.mark.parametrize("gid", TESTS)
def test_reference_passes_every_test_cell_silently(reference_ns, gid, capfd):
    """Visible and hidden checks pass on the reference; the hidden ones print nothing at all."""
    au.assert_test_cell_passes_silently(SOURCE, gid, reference_ns, capfd)


@pytest.mark.parametrize("mutant", au.mutant_params(MUTANTS))
def test_mutant_fails_exactly_its_cells(mutant):
    """The mutant fails exactly the test cells its ``fails`` names, each in its hidden part too."""
    nb = apply_mutant(SOURCE, mutant)
    ns = namespace(nb)
    au.assert_mutant_fails_exactly_its_cells(mutant, nb, ns, TESTS, skip=au.slow_checks_to_skip(mutant, SLOW_CHECKS))


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
@pytest.mark.parametrize("gid", SLOW_CHECKS)
def test_slow_checks_use_only_their_cells(gid):
    au.assert_check_uses_only(SOURCE, gid, SLOW_CHECKS[gid], namespace, without=PROOF_WITHOUT)


# ----------------------------------------------------------------------------- margins of the learning checks

@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_glove_training_margin(reference_ns):
    """The reference loss trains GloVe far below the bound for every seed tried."""
    for seed in range(3):
        initial, final = checks.glove_training_loss(reference_ns["glove_loss"], seed=seed)
        assert final < 0.5 * checks.GLOVE["bound"] and initial > 1.0, (seed, initial, final)


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_heldout_accuracy_margin(reference_ns):
    """The reference classifier is well above the 0.8 threshold on the held-out adjectives for
    several seeds; with random (not pretrained) frozen vectors it is near chance."""
    cls = reference_ns["FrozenLSTMClassifier"]
    accuracies = [checks.heldout_accuracy(cls, "cpu", seed=seed) for seed in (0, 1, 2)]
    assert min(accuracies) >= checks.HELDOUT["target"] + 0.08, accuracies
    bad = namespace(apply_mutant(SOURCE, next(m for m in MUTANTS if m.name == "random_embedding")))
    accuracy = checks.heldout_accuracy(bad["FrozenLSTMClassifier"], "cpu", seed=1)
    assert accuracy < 0.7, accuracy


# ----------------------------------------------------------------------------- other correct solutions pass

def _counts_dict(sentences, vocab_size, window):
    """Counts via a dict of pairs and a look-back window, then a dense tensor."""
    table = defaultdict(float)
    for sentence in sentences:
        for t, word in enumerate(sentence):
            for s in range(max(0, t - window), t):
                table[word, sentence[s]] += 1 / (t - s)
                table[sentence[s], word] += 1 / (t - s)
    X = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
    for (a, b), value in table.items():
        X[a, b] = value
    return X


def _loss_masked(w, w_tilde, b, b_tilde, i, j, x, x_max=100.0, alpha=0.75):
    """The loss with a boolean mask and clamp instead of torch.where."""
    nonzero = x > 0
    f = torch.clamp(x / x_max, max=1.0) ** alpha
    log_x = torch.zeros_like(x)
    log_x[nonzero] = x[nonzero].log()
    diff = torch.einsum("bd,bd->b", w[i], w_tilde[j]) + b[i] + b_tilde[j] - log_x
    return (f * diff.pow(2) * nonzero).sum() / x.numel()


def _neighbours_sorted(vectors, query, k):
    cos = F.cosine_similarity(vectors, vectors[query].unsqueeze(0), dim=1)
    order = torch.argsort(cos, descending=True).tolist()
    return [n for n in order if n != query][:k]


def _matrix_numpy(vocab, kv, scale, generator):
    rows = []
    noise = torch.randn(len(vocab), kv.vector_size, generator=generator) * scale
    for index, token in enumerate(vocab.itos):
        if index == vocab.pad_id:
            rows.append(np.zeros(kv.vector_size, dtype=np.float32))
        elif kv.has_index_for(token):
            rows.append(kv.get_vector(token))
        else:
            rows.append(noise[index].numpy())
    return torch.tensor(np.stack(rows), dtype=torch.float32)


class _RequiresGradClassifier(nn.Module):
    """A correct classifier written with requires_grad = False and sorted, packed batches."""

    def __init__(self, vectors, hidden_size=128, pad_id=0):
        super().__init__()
        self.embed = nn.Embedding(vectors.shape[0], vectors.shape[1], padding_idx=pad_id)
        self.embed.weight.data.copy_(vectors)
        self.embed.weight.requires_grad = False
        self.lstm = nn.LSTM(vectors.shape[1], hidden_size, 2, batch_first=True, dropout=0.3)
        self.dropout = nn.Dropout(p=0.5)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x, lengths, targets=None):
        order = torch.argsort(lengths.cpu(), descending=True)
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(x[order.to(x.device)]), lengths.cpu()[order],
                                                   batch_first=True)
        _, (h_n, _) = self.lstm(packed)
        summary = torch.empty_like(h_n[-1])
        summary[order.to(x.device)] = h_n[-1]
        logits = self.head(self.dropout(summary))[:, 0]
        return logits, (None if targets is None else F.binary_cross_entropy_with_logits(logits, targets))


def test_checks_accept_other_correct_implementations():
    checks.check_cooccurrence_exact(_counts_dict)
    checks.check_cooccurrence_random(_counts_dict)
    for check in (checks.check_loss_formula, checks.check_loss_zero_counts, checks.check_loss_gradients,
                  checks.check_glove_training):
        check(_loss_masked)
    checks.check_nearest_neighbours(_neighbours_sorted)
    checks.check_embedding_matrix_rows(_matrix_numpy)
    checks.check_embedding_matrix_missing(_matrix_numpy)
    for check in (checks.check_classifier_structure, checks.check_classifier_forward,
                  checks.check_classifier_frozen_gradients, checks.check_heldout_accuracy):
        check(_RequiresGradClassifier)


def test_failure_messages_help(reference_ns):
    def mutated(name, symbol):
        return namespace(apply_mutant(SOURCE, next(m for m in MUTANTS if m.name == name)))[symbol]

    with pytest.raises(AssertionError, match="1/d"):
        checks.check_cooccurrence_exact(mutated("unweighted_window", "cooccurrence_counts"))
    with pytest.raises(AssertionError, match="symmetric"):
        checks.check_cooccurrence_exact(mutated("one_sided_counts", "cooccurrence_counts"))
    with pytest.raises(AssertionError, match="torch.where"):
        checks.check_loss_zero_counts(mutated("log_of_zero_counts", "glove_loss"))
    with pytest.raises(AssertionError, match="b_tilde"):
        checks.check_loss_gradients(mutated("context_bias_forgotten", "glove_loss"))
    with pytest.raises(AssertionError, match="dot-product order"):
        checks.check_nearest_neighbours(mutated("cosine_without_normalising", "nearest_neighbours"))
    with pytest.raises(AssertionError, match="modified"):
        checks.check_nearest_neighbours(mutated("normalises_in_place", "nearest_neighbours"))
    with pytest.raises(AssertionError, match="vocabulary ids"):
        checks.check_embedding_matrix_rows(mutated("rows_off_by_one", "embedding_matrix"))
    with pytest.raises(AssertionError, match="h_n\\[-1\\]"):
        checks.check_classifier_forward(mutated("first_layer_state", "FrozenLSTMClassifier"))
    with pytest.raises(AssertionError, match="freeze=True"):
        checks.check_classifier_structure(mutated("embedding_not_frozen", "FrozenLSTMClassifier"))
    assert math.isclose(checks.HELDOUT["target"], 0.8)
