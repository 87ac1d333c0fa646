"""a04 (an LSTM cell and a classifier): the hidden checks pass the reference and catch every
catalogued mistake, each in exactly the test cells its catalogue entry names.

In-process: the source notebook's code cells run in this process, then its test cells (visible
part, then hidden part). ``tests/test_grading.py`` repeats it for a covering subset of the mutants with real
``nbgrader autograde``; this file finds a broken check faster and says which. The margins behind
the learning checks (memory task, classifier accuracy) are measured here too.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import assignment_utils as au
from autograder import a04_lstm as checks
from autograder.mutants import apply_mutant, load_catalogue

ASSIGNMENT = "a04_lstm"
SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)
# The training checks, each with the solution cells whose names it reads (proven by
# test_slow_checks_use_only_their_cells; what that proof leaves out: assert_check_uses_only): a
# mutant of any other cell skips them in process.
SLOW_CHECKS = {"test_classifier_accuracy": {"lstm_layer", "lstm_classifier"}, "test_memory_task": {"lstm_cell"}}


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the test cells), output discarded."""
    return au.exec_code_cells(nb, skip=set(TESTS))


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


def test_catalogue_covers_the_required_mistakes():
    """The mistakes the assignment's issue names are all in the catalogue."""
    required = {"gates_wrong_order", "gate_tanh", "candidate_sigmoid", "candidate_missing", "tanh_missing",
                "h_from_previous_c", "forget_on_candidate", "last_padded_step",
                # issue 10: mistakes that only property checks catch
                "sigmoid_by_hand", "tanh_by_hand", "c_prev_updated_in_place", "lengths_counted_down_in_place",
                "last_step_by_index", "logits_softmaxed", "reads_c_n"}
    assert required <= {m.name for m in MUTANTS}


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


# ----------------------------------------------------------------------------- margins of the learning checks

@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_memory_check_margin(reference_ns):
    """A correct cell passes 95% on the T = 50 memory task within 150 of the 200 allowed steps for
    every seed tried, and within 50 for the two seeds used (the notebook's 0 and the check's 1)."""
    for seed in range(6):
        accuracies = checks.train_memory_task(reference_ns["lstm_cell"], seed=seed, device="cpu")
        steps = len(accuracies) * checks.MEMORY["eval_every"]
        assert accuracies[-1] >= 0.95 and steps <= (50 if seed < 2 else 150), f"seed {seed}: {accuracies}"


def test_memory_check_accepts_pytorchs_own_cell():
    checks.check_memory_task(checks.torch_cell)


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
@pytest.mark.parametrize("name", ["gates_wrong_order", "candidate_missing", "forget_on_candidate"])
def test_mutants_that_cannot_remember_stay_near_chance(name):
    """The cells the catalogue says cannot learn the memory task stay far below 95% (near chance)."""
    mutant = next(m for m in MUTANTS if m.name == name)
    cell = namespace(apply_mutant(SOURCE, mutant))["lstm_cell"]
    for seed in (0, 1):
        assert max(checks.train_memory_task(cell, seed=seed, device="cpu")) < 0.5, f"{name}, seed {seed}"


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_classifier_accuracy_margin(reference_ns):
    """The reference is well above the 85% threshold, also on the negated reviews; classifying from
    the last padded position is well below it."""
    accuracy, negated = checks.train_review_classifier(reference_ns["LSTMClassifier"], "cpu", seed=1)
    assert accuracy >= 0.95 and negated >= 0.9, (accuracy, negated)
    bad = namespace(apply_mutant(SOURCE, next(m for m in MUTANTS if m.name == "last_padded_step")))
    accuracy, _ = checks.train_review_classifier(bad["LSTMClassifier"], "cpu", seed=1)
    assert accuracy < 0.75, accuracy


# ----------------------------------------------------------------------------- other correct solutions pass

def _cell_concatenated(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """Another correct cell: one matrix on [x, h] (the source's W·[h, x] form), gates sliced by index."""
    H = h_prev.shape[1]
    W = torch.cat([W_ih, W_hh], dim=1)                       # (4H, D + H)
    z = torch.cat([x, h_prev], dim=1) @ W.T + (b_ih + b_hh)  # (B, 4H)
    i, f = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H])
    g, o = torch.tanh(z[:, 2 * H:3 * H]), torch.sigmoid(z[:, 3 * H:])
    c = torch.addcmul(f * c_prev, i, g)
    return o * torch.tanh(c), c


def _layer_gather(x, lengths, weights, cell=None):
    """Another correct loop: run every step for every row, then gather each row's last real state
    (an empty row, length 0, keeps the zero initial state)."""
    cell = cell or _cell_concatenated
    B, T, _ = x.shape
    H = weights[1].shape[1]
    h = c = x.new_zeros(B, H)
    hs, cs = [], []
    for t in range(T):
        h, c = cell(x[:, t], h, c, *weights)
        hs.append(h)
        cs.append(c)
    hs, cs = torch.stack(hs, 1), torch.stack(cs, 1)          # (B, T, H)
    last = (lengths - 1).clamp(min=0).view(B, 1, 1).expand(B, 1, H)
    mask = (torch.arange(T, device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    nonempty = (lengths > 0).unsqueeze(1).to(x.dtype)        # (B, 1)
    return hs * mask, (hs.gather(1, last)[:, 0] * nonempty, cs.gather(1, last)[:, 0] * nonempty)


def test_checks_accept_other_correct_implementations():
    for check in (checks.check_cell_shapes, checks.check_cell_matches_torch, checks.check_cell_gradcheck):
        check(_cell_concatenated)
    checks.check_layer_lengths(_layer_gather)
    checks.check_gradient_reaches_first_step(_layer_gather)

    class PackedClassifier(nn.Module):
        """A correct classifier that ignores `cell` and uses nn.LSTM with packing."""

        def __init__(self, vocab_size, embed_dim, hidden_size, num_classes, cell=None):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
            self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, num_classes)

        def forward(self, x, lengths, targets=None):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True,
                                                       enforce_sorted=False)
            _, (h_n, _) = self.lstm(packed)
            logits = self.head(h_n[-1])
            return logits, None if targets is None else F.cross_entropy(logits, targets)

    checks.check_classifier_final_real_step(PackedClassifier)
    checks.check_classifier_accuracy(PackedClassifier)


def _classifier_variant(reference_ns, find: str, replace: str):
    """The reference classifier with one line changed (not a catalogued mutant)."""
    cell = next(c for c in SOURCE.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "lstm_classifier")
    assert cell.source.count(find) == 1
    ns = dict(reference_ns)
    exec(cell.source.replace(find, replace), ns)
    return ns["LSTMClassifier"]


def test_property_checks_catch_states_other_than_h_n(reference_ns):
    """Reading c_n or the mean of the real outputs passes the padding checks (both are padding
    invariant) and can pass the accuracy bar; the test-cell property catches both, and accepts
    the reference and log-probabilities (a correct rewrite: cross-entropy of log-softmax is the same)."""
    for replace in ("logits = self.head(c_n)", "logits = self.head(outputs.sum(dim=1) / lengths[:, None])"):
        bad = _classifier_variant(reference_ns, "logits = self.head(h_n)", replace)
        with pytest.raises(AssertionError, match="last real token alone"):
            checks.check_classifier_final_real_step(bad)
    log_probs = _classifier_variant(reference_ns, "logits = self.head(h_n)",
                                    "logits = self.head(h_n).log_softmax(dim=-1)")
    checks.check_classifier_final_real_step(log_probs)


def test_property_checks_on_small_rewrites(reference_ns):
    """In-place changes, overflow-prone formulas and empty rows are caught with messages that say
    what to do; the same computations written correctly pass."""
    def cell_in_place(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        h, c = _cell_concatenated(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh)
        h_prev.copy_(h)                                      # "reuse the buffer": the caller's h changes
        return h, c
    with pytest.raises(AssertionError, match="in place"):
        checks.check_cell_matches_torch(cell_in_place)

    def cell_exp_tanh(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
        i, f, g, o = (x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        e = torch.exp(2 * c)                                 # tanh(c) = (e^{2c} - 1) / (e^{2c} + 1): inf / inf
        return torch.sigmoid(o) * (e - 1) / (e + 1), c
    with pytest.raises(AssertionError, match="torch.tanh"):
        checks.check_cell_matches_torch(cell_exp_tanh)

    def layer_ignoring_empty_rows(x, lengths, weights, cell=None):
        return _layer_gather(x, lengths.clamp(min=1), weights, cell)
    with pytest.raises(AssertionError, match="padded positions|length 0"):
        checks.check_layer_lengths(layer_ignoring_empty_rows)
    checks.check_layer_lengths(_layer_gather)


def test_failure_messages_help(reference_ns):
    mutant = next(m for m in MUTANTS if m.name == "gates_wrong_order")
    cell = namespace(apply_mutant(SOURCE, mutant))["lstm_cell"]
    with pytest.raises(AssertionError, match="i, f, g, o"):
        checks.check_cell_matches_torch(cell)
    with pytest.raises(AssertionError, match="lstm_cell must return a pair"):
        checks.check_cell_shapes(lambda *args: args[1])
    with pytest.raises(AssertionError, match="x.new_zeros"):
        def float32_state(x, lengths, weights, cell=None):
            h = c = torch.zeros(x.shape[0], weights[1].shape[1])
            for t in range(x.shape[1]):
                h, c = reference_ns["lstm_cell"](x[:, t], h, c, *weights)
            return None, (h, c)
        checks.check_gradient_reaches_first_step(float32_state)
    assert math.isclose(checks.MEMORY["target"], 0.95) and checks.REVIEWS["target"] >= 0.8
