"""a03 (measuring and taming gradients): the hidden checks pass the reference and catch every
catalogued mistake.

In-process and fast: the source notebook's code cells run in this process (the two demonstration
cells, which no test cell uses, are skipped), then its test cells run, hidden tests included.
``tests/test_grading.py`` repeats it for a covering subset of the mutants with real ``nbgrader autograde``; this file
finds a broken check in seconds and says which.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import assignment_utils as au
from autograder import a03_gradients as checks
from autograder.mutants import apply_mutant, load_catalogue

ASSIGNMENT = "a03_gradients"
DEMO_CELLS = {"grad_norms_demo", "clipping_demo"}   # demonstrations: no test cell uses what they define

SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the tests, not the demos)."""
    return au.exec_code_cells(nb, skip=set(TESTS) | DEMO_CELLS)


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


def test_catalogue_covers_the_required_mistakes():
    """The mistakes the assignment's issue names are all in the catalogue."""
    required = {"clip_per_parameter", "clip_no_min_one", "clip_no_epsilon", "clip_returns_clipped_norm",
                "clip_norm_of_parameters"}
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
    au.assert_mutant_fails_exactly_its_cells(mutant, nb, ns, TESTS)


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_training_setup_diverges_without_clipping_and_converges_with_margin(reference_ns):
    """The premise of check_train_step_converges: each seed's run without clipping ends far above
    chance (ln 4 = 1.39), and the reference with clipping ends far below the bound."""
    for seed in checks._TRAIN_SETUP["seeds"]:
        free = checks.run_training(reference_ns["train_step"], seed, None)
        final = sum(free[-10:]) / 10
        assert not math.isfinite(final) or final > 2.0, f"seed {seed}: without clipping the run ends at {final:.3f}"
        clipped = checks.run_training(reference_ns["train_step"], seed, 1.0)
        assert sum(clipped[-10:]) / 10 < 0.1 * checks.LOSS_BOUND, f"seed {seed}: clipped run ends at {clipped[-10:]}"


def _concat_clip(parameters, max_norm, eps=1e-6):
    """Another correct implementation: one flat vector of all gradients, min(1, coef) applied always."""
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return 0.0
    total = torch.cat([p.grad.detach().flatten() for p in params]).norm()
    coef = torch.clamp(max_norm / (total + eps), max=1.0)
    for p in params:
        p.grad.detach().mul_(coef)
    return total


def _float_clip(parameters, max_norm, eps=1e-6):
    """Another correct implementation: Python floats, a different summation order, returns a float."""
    params = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
    coef = max_norm / (total + eps)
    if coef < 1:
        with torch.no_grad():
            for p in params:
                p.grad *= coef
    return total


@pytest.mark.parametrize("clip", [_concat_clip, _float_clip], ids=["concatenated", "python_floats"])
def test_clip_checks_accept_other_correct_implementations(clip):
    for check in (checks.check_clip_matches_torch, checks.check_clip_below_threshold,
                  checks.check_clip_returns_total_norm, checks.check_clip_edge_cases):
        check(clip)


def test_profile_check_accepts_retain_grad_route():
    """A correct solution by another route (retain_grad + backward) passes the profile checks."""
    def retain_grad_route(rnn, x, loss_fn):
        h = torch.zeros(1, x.shape[0], rnn.hidden_size, device=x.device)
        states = []
        for t in range(x.shape[1]):
            _, h = rnn(x[:, t:t + 1], h)
            h.retain_grad()
            states.append(h)
        loss_fn(torch.stack([s[0] for s in states], dim=1)).backward()
        return torch.stack([torch.linalg.vector_norm(s.grad, dtype=torch.float64) for s in states])

    checks.check_hidden_grad_norms_shapes(retain_grad_route)
    checks.check_hidden_grad_norms_profile(retain_grad_route)


def test_profile_check_accepts_probe_route():
    """Another correct route: zero probes added to every state, differentiated in one call, on a copy
    of x (so the caller's x is untouched)."""
    def probe_route(rnn, x, loss_fn):
        B, T, _ = x.shape
        probes = torch.zeros(T, 1, B, rnn.hidden_size, device=x.device, dtype=x.dtype, requires_grad=True)
        h, outputs = torch.zeros(1, B, rnn.hidden_size, device=x.device, dtype=x.dtype), []
        for t in range(T):
            h = rnn(x[:, t:t + 1].clone(), h)[1] + probes[t]
            outputs.append(h[0])
        (grad,) = torch.autograd.grad(loss_fn(torch.stack(outputs, dim=1)), probes)
        return grad.double().flatten(1).norm(dim=1)

    checks.check_hidden_grad_norms_shapes(probe_route)
    checks.check_hidden_grad_norms_profile(probe_route)


def test_train_step_checks_accept_another_correct_step(reference_ns):
    """A correct step written differently (model.zero_grad, no clipping call when max_norm is None, the
    norm measured by hand, loss.detach().item()) passes both train_step checks. Like a notebook
    function, it finds clip_grad_norm among its globals (where the checks swap in a correct one)."""
    clip = reference_ns["clip_grad_norm"]

    def other_step(model, batch, optimizer, max_norm=None):
        x, y = batch
        model.zero_grad()
        loss = model(x, targets=y)[1]
        loss.backward()
        if max_norm is None:
            total = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in model.parameters() if p.grad is not None))
        else:
            total = float(clip_grad_norm(model.parameters(), max_norm))  # noqa: F821 - a notebook global, set below
        optimizer.step()
        return loss.detach().item(), total

    other_step.__globals__["clip_grad_norm"] = clip     # what the student's notebook namespace holds
    checks.check_train_step_update(other_step)
    checks.check_train_step_converges(other_step)
