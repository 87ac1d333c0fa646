"""``make test`` runs on two pytest-xdist workers with ``--dist loadgroup``: tests that share an
expensive fixture (the book build, one assignment's grading run, a simulated Colab venv) must run
on the same worker, or that fixture is built twice (see tests/conftest.py). The grouping has been
lost silently before (pytest 9.2 with pytest-xdist 3.8: every assignment was graded twice and
``make test`` took half as long again): this test makes that loud."""
from __future__ import annotations

import os

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
