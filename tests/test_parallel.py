"""``make test`` runs on two pytest-xdist workers with ``--dist loadgroup``: tests that share an
expensive fixture (the book build, one assignment's grading run, a simulated Colab venv) must run
on the same worker, or that fixture is built twice (see tests/conftest.py). The grouping has been
lost silently before (pytest 9.2 with pytest-xdist 3.8: every assignment was graded twice and
``make test`` took half as long again): this test makes that loud."""
from __future__ import annotations

import os

import pytest

import conftest


def test_xdist_groups_are_applied(request):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        # a plain pytest run: no workers, nothing to group; the suffix check below needs xdist
        assert "@" not in request.node.nodeid
        return
    assert getattr(request.config.option, "loadgroup", False), "make test runs with --dist loadgroup"
    expected = conftest._group(request.node)
    assert request.node.nodeid.endswith(f"@{expected}"), (
        f"pytest-xdist did not apply this test's xdist_group mark ({expected!r}): its id is "
        f"{request.node.nodeid!r}. Tests that share a fixture then run on both workers and repeat "
        f"it. Check the pytest and pytest-xdist versions against requirements.txt.")


def test_queue_order_names_real_groups_and_puts_the_longest_first(request):
    """``conftest.GROUP_SECONDS`` orders the queue: a name that is no group (a renamed module) would
    silently send that group to the end of the queue, where a long one leaves the other worker idle."""
    session_items = request.session.items
    modules = {item.path.stem for item in session_items}
    whole = {p.stem for p in conftest.ROOT.glob("tests/test_*.py")} <= modules
    if not whole or request.config.option.markexpr or request.config.option.keyword:
        pytest.skip("needs the whole suite collected (make test), not a selection of it")
    groups = {conftest._group(item) for item in session_items}
    stale = sorted(set(conftest.GROUP_SECONDS) - groups)
    assert not stale, f"tests/conftest.py GROUP_SECONDS names groups that no test has: {stale}"
    order = []
    for item in session_items:
        if conftest._group(item) not in order:
            order.append(conftest._group(item))
    seconds = [conftest.GROUP_SECONDS.get(g, 0) for g in order]
    assert seconds == sorted(seconds, reverse=True), f"groups not queued longest first: {order}"
