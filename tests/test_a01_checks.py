"""a01 (language models): the hidden checks pass the reference and catch every catalogued mistake.

In-process and fast: the source notebook's code cells run in this process (the Lee-corpus data
and demonstration cells, which no test cell uses, are skipped), then its test cells run, hidden
tests included. ``tests/test_grading.py`` repeats the mutant experiment with real
``nbgrader autograde``; this file finds a broken check in seconds and says which.
"""
from __future__ import annotations

import pytest

import assignment_utils as au
from autograder import a01_language_models as checks
from autograder.mutants import apply_mutant, load_catalogue

ASSIGNMENT = "a01_language_models"
# Lee-corpus data and demonstration cells (n-gram table, neural training): no test cell uses what
# they define (the hidden checks load their own data).
DEMO_CELLS = {"lee_data", "lee_ngram_table", "lee_windows", "lee_neural_train"}
# The training-threshold cell takes a few seconds: rerun it only for mutants of the model's cell
# (for any other mutant the model code is the reference's, so its outcome is the reference's).
SLOW_TEST = "test_neural_lm_perplexity"
MODEL_CELL = "fixed_window_lm"

SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the tests, not the demos)."""
    return au.exec_code_cells(nb, skip=set(TESTS) | DEMO_CELLS)


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


@pytest.mark.parametrize("gid", TESTS)
def test_reference_passes_every_test_cell_silently(reference_ns, gid, capfd):
    """Visible and hidden checks pass on the reference; the hidden ones print nothing at all
    (nbgrader scores a cell 0 on any stderr output)."""
    au.assert_test_cell_passes_silently(SOURCE, gid, reference_ns, capfd)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_fails_exactly_its_cells(mutant):
    """The mutant fails exactly the test cells its ``fails`` names, and each of them in its hidden
    part too (so the mistake is caught even if a student edits the visible checks)."""
    nb = apply_mutant(SOURCE, mutant)
    ns = namespace(nb)
    skip = () if mutant.cell == MODEL_CELL else (SLOW_TEST,)
    au.assert_mutant_fails_exactly_its_cells(mutant, nb, ns, TESTS, skip=skip)


def test_threshold_has_margin(reference_ns):
    """The reference clears the perplexity bound by a wide margin (the value the bound's comment
    documents)."""
    ppl = checks.train_and_measure(reference_ns["FixedWindowLM"], device="cpu", seed=0)
    assert ppl < 0.75 * checks.PERPLEXITY_BOUND, f"reference held-out perplexity {ppl:.1f}"
