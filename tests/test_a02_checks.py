"""a02 (an RNN from scratch): the hidden checks pass the reference and catch every catalogued
mistake.

In-process and fast: the source notebook's code cells run in this process (the finite-difference
demonstration, which no test cell uses, is skipped), then its test cells run, hidden tests
included. ``tests/test_grading.py`` repeats it for a covering subset of the mutants with real ``nbgrader autograde``;
this file finds a broken check in seconds and says which.
"""
from __future__ import annotations

import pytest

import assignment_utils as au
from autograder import a02_rnn_from_scratch as checks
from autograder.mutants import Mutant, apply_mutant, load_catalogue

ASSIGNMENT = "a02_rnn_from_scratch"
DEMO_CELLS = {"gradcheck_demo"}   # a demonstration: no test cell uses what it defines

SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the tests, not the demo)."""
    return au.exec_code_cells(nb, skip=set(TESTS) | DEMO_CELLS)


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


def test_catalogue_covers_the_required_mistakes():
    required = {"dwh_uses_h_next", "missing_tanh_derivative", "dwh_not_accumulated", "bias_grad_not_summed",
                "transposed_recurrent_weight", "grad_into_h_prev_dropped"}
    assert required <= {m.name for m in MUTANTS}


@pytest.mark.parametrize("gid", TESTS)
def test_reference_passes_every_test_cell_silently(reference_ns, gid, capfd):
    """Visible and hidden checks pass on the reference; the hidden ones print nothing at all
    (nbgrader scores a cell 0 on any stderr output)."""
    au.assert_test_cell_passes_silently(SOURCE, gid, reference_ns, capfd)


# How far a mutant's held-out loss must stay from LOSS_BOUND (on the side its `fails` says), so that
# another platform's rounding cannot carry it across.
MUTANT_MARGIN = 0.06
TRAINING_CELL = "test_char_model_learns"


@pytest.mark.parametrize("mutant", au.mutant_params(MUTANTS))
def test_mutant_fails_exactly_its_cells(mutant, monkeypatch):
    """The mutant fails exactly the test cells its ``fails`` names, and each of them in its hidden
    part too (so the mistake is caught even if a student edits the visible checks). The training
    run of the threshold check happens once: its result is measured here (it must clear the bound
    by MUTANT_MARGIN) and handed to the check while the test cells run."""
    nb = apply_mutant(SOURCE, mutant)
    ns = namespace(nb)
    try:
        outcome = checks.char_model_loss(ns["rnn_forward"], ns["rnn_backward"])
    except Exception as exc:  # noqa: BLE001 - a crash fails the training check, as in grading
        outcome = exc
    if not isinstance(outcome, Exception):
        if TRAINING_CELL in mutant.fails:
            assert outcome > checks.LOSS_BOUND + MUTANT_MARGIN, f"{mutant.name}: held-out loss {outcome:.3f}"
        else:
            assert outcome < checks.LOSS_BOUND - MUTANT_MARGIN, f"{mutant.name}: held-out loss {outcome:.3f}"

    def replay(rnn_forward, rnn_backward, *args, **kwargs):
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(checks, "char_model_loss", replay)
    au.assert_mutant_fails_exactly_its_cells(mutant, nb, ns, TESTS)


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_threshold_has_margin(reference_ns):
    """The reference clears the loss bound by the margin the bound's comment documents."""
    loss = checks.char_model_loss(reference_ns["rnn_forward"], reference_ns["rnn_backward"])
    assert loss < checks.LOSS_BOUND - 0.1, f"reference held-out loss {loss:.3f}, bound {checks.LOSS_BOUND}"


# Correct solutions written differently from the reference: every check must accept them.
REWRITES = [
    Mutant(name="tanh_from_exp_of_minus_2a", cell="rnn_step_forward",
           description="tanh written as 2 / (1 + exp(-2a)) - 1, stable for large |a| (exp may overflow to "
                       "inf, which gives exactly -1)",
           find="h_next = np.tanh(x @ Wx + h_prev @ Wh + b)",
           replace="a = x @ Wx + h_prev @ Wh + b\n    h_next = 2.0 / (1.0 + np.exp(-2.0 * a)) - 1.0", fails=()),
    Mutant(name="preallocated_forward", cell="rnn_forward",
           description="fills a preallocated (B, T, H) array instead of stacking a list",
           find="    states, cache = [], []\n    h_prev = h0\n    for t in range(x.shape[1]):\n"
                "        h_prev, step_cache = rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)  # (B, H)\n"
                "        states.append(h_prev)\n        cache.append(step_cache)\n"
                "    h = np.stack(states, axis=1)  # (B, T, H)\n",
           replace="    B, T, _ = x.shape\n    h, cache = np.empty((B, T, Wh.shape[0])), []\n"
                   "    for t in range(T):\n"
                   "        h[:, t], step_cache = rnn_step_forward(x[:, t], h0 if t == 0 else h[:, t - 1], Wx, Wh, b)\n"
                   "        cache.append(step_cache)\n", fails=()),
    Mutant(name="inline_backward_with_einsum", cell="rnn_backward",
           description="BPTT written inline (no rnn_step_backward), weight gradients with einsum, dh_next "
                       "named as in chapter 2",
           find="        dx[:, t], dh_prev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dh_prev, cache[t])\n"
                "        dWx += dWx_t  # the same weights act at every step: their gradients add up over time\n"
                "        dWh += dWh_t\n        db += db_t\n",
           replace="        x_t, h_prev, h_next, _, _ = cache[t]\n"
                   "        dh_next = dh[:, t] + dh_prev\n"
                   "        da = dh_next * (1 - h_next * h_next)\n"
                   "        dx[:, t] = np.einsum('bh,dh->bd', da, Wx)\n"
                   "        dWx = dWx + np.einsum('bd,bh->dh', x_t, da)\n"
                   "        dWh = dWh + np.einsum('bi,bj->ij', h_prev, da)\n"
                   "        db = db + da.sum(0)\n"
                   "        dh_prev = da @ Wh.T\n", fails=()),
]


@pytest.mark.parametrize("rewrite", REWRITES, ids=[r.name for r in REWRITES])
def test_correct_rewrites_pass_every_check(rewrite, monkeypatch):
    """A correct solution written differently passes every visible and hidden check (the training
    check's run is replaced by the reference's loss here; test_rewrite_trains runs one for real)."""
    nb = apply_mutant(SOURCE, rewrite)
    ns = namespace(nb)
    monkeypatch.setattr(checks, "char_model_loss", lambda *args, **kwargs: checks.LOSS_BOUND - 0.1)
    au.assert_mutant_fails_exactly_its_cells(rewrite, nb, ns, TESTS)


@pytest.mark.slow
def test_rewrite_trains():
    """The training check accepts the rewrites too (all three at once), with the reference's margin."""
    nb = SOURCE
    for rewrite in REWRITES:
        nb = apply_mutant(nb, rewrite)
    ns = namespace(nb)
    loss = checks.char_model_loss(ns["rnn_forward"], ns["rnn_backward"])
    assert loss < checks.LOSS_BOUND - 0.1, f"rewritten solution: held-out loss {loss:.3f}"


@pytest.mark.slow
def test_visible_training_check_catches_state_read_before_step():
    """The visible part of the training cell alone (no hidden checks) fails a model that predicts
    from the state before the current input (it ends near 0.23 on the phrase, above the bar
    floor - 0.45 = 0.157) and passes the reference (near 0.001). The bar is not tighter because
    tanh_reapplied_to_cached_state ends near 0.125 and is caught by the gradient checks instead.
    """
    au.run_test_cell(SOURCE, TRAINING_CELL, namespace(SOURCE), hidden=False)
    mutant = next(m for m in MUTANTS if m.name == "state_read_before_step")
    nb = apply_mutant(SOURCE, mutant)
    with pytest.raises(AssertionError, match="below the memoryless floor"):
        au.run_test_cell(nb, TRAINING_CELL, namespace(nb), hidden=False)
