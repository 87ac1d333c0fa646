"""a02 (an RNN from scratch): the hidden checks pass the reference and catch every catalogued
mistake.

In-process and fast: the source notebook's code cells run in this process (the finite-difference
demonstration, which no test cell uses, is skipped), then its test cells run, hidden tests
included. ``tests/test_grading.py`` repeats the mutant experiment with real ``nbgrader autograde``;
this file finds a broken check in seconds and says which.
"""
from __future__ import annotations

import pytest

import assignment_utils as au
from autograder import a02_rnn_from_scratch as checks
from autograder.mutants import apply_mutant, load_catalogue

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


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
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


def test_threshold_has_margin(reference_ns):
    """The reference clears the loss bound by the margin the bound's comment documents."""
    loss = checks.char_model_loss(reference_ns["rnn_forward"], reference_ns["rnn_backward"])
    assert loss < checks.LOSS_BOUND - 0.1, f"reference held-out loss {loss:.3f}, bound {checks.LOSS_BOUND}"
