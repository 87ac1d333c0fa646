"""Mutants: typical wrong solutions that the hidden checks must catch.

A mutant is a small textual edit of one solution cell of the reference notebook. Keeping it as
an edit of the reference (rather than a copy of the whole function) keeps each mutant one
mistake wide; :func:`apply_mutant` refuses an edit whose ``find`` text no longer occurs exactly
once, so a change to the reference solution cannot silently turn a mutant into the reference.

Each assignment's catalogue is ``autograder/mutants/aNN_slug.py`` defining ``MUTANTS``, a list of
:class:`Mutant`. The tests run every mutant in process and require that exactly the test cells
named in ``fails`` fail, in their hidden part too, and that the mistake is diagnosed; they grade
a covering subset of the mutants (every test cell some mutant fails, every solution cell some
mutant edits; ``SEQLAB_ROUNDTRIP_MUTANTS=patterns|all`` for more) with real nbgrader and require
that exactly those cells lose their points.
"""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class Mutant:
    name: str          # short identifier, used as the fake student's id when grading
    description: str   # the mistake, in words
    cell: str          # grade_id of the solution cell to edit
    find: str          # text of the reference solution that the mistake changes (must occur once)
    replace: str       # what the mistaken student wrote instead
    fails: tuple[str, ...]  # grade_ids of test cells that must lose their points
    # What a student's feedback says when their failures match this mistake (see
    # autograder.diagnose): the mistake in words, without the right code. Optional: by default
    # diagnose.hint derives it from the description.
    hint: str = ""


def load_catalogue(assignment: str) -> list[Mutant]:
    """The ``MUTANTS`` list of ``autograder/mutants/<assignment>.py`` (e.g. ``a01_language_models``)."""
    module = importlib.import_module(f"autograder.mutants.{assignment}")
    return list(module.MUTANTS)


def apply_mutant(nb: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    """A copy of ``nb`` with ``mutant``'s edit applied to the cell whose grade_id is ``mutant.cell``."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == mutant.cell]
    if len(cells) != 1:
        raise ValueError(f"mutant {mutant.name}: expected one cell with grade_id {mutant.cell!r}, found {len(cells)}")
    source = cells[0].source
    count = source.count(mutant.find)
    if count != 1:
        raise ValueError(f"mutant {mutant.name}: text to replace occurs {count} times in cell {mutant.cell!r} "
                         f"(expected exactly once): {mutant.find!r}")
    cells[0].source = source.replace(mutant.find, mutant.replace)
    return nb
