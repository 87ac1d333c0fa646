"""Realign a mangled submission with the release before grading, instead of scoring it 0.

Editors and students damage notebooks in a few typical ways (nbgrader #1941, #1398;
grader-service #213, #51, #52): VSCode and other editors drop the cells' ``nbgrader`` metadata,
students copy a cell together with its ``grade_id``, change a cell's type, or delete a test cell.
nbgrader then loses the cell (no metadata: its points are never awarded), refuses the notebook
(duplicate ids) or grades a cell that is not there.

:func:`repair` maps every cell of the release to a cell of the submission:

1. by ``grade_id`` (the first cell that carries it; later copies are *duplicates*);
2. cells without nbgrader metadata, by content: a cell whose text equals a read-only cell of the
   release (instructions, a test cell's visible checks) is that cell;
3. the answer cells that are still unmatched, by position: the submission's unmatched cells that
   lie between the same two matched cells as the release's answer cell; of several, the one
   most like the release's stub (e.g. it keeps the ``def add(a, b):`` line).

It then writes the submission back with: the release's metadata (and cell type) on every matched
cell; the release's own text in read-only and test cells (nbgrader restores these anyway); the
student's text in answer cells; the student's extra cells kept where they were, without nbgrader
metadata (a copied cell's duplicate ``grade_id`` is dropped, its code still runs); and every
release cell the submission lacks (a deleted test cell, a deleted answer cell as the release's
stub) inserted where the release has it. Each change is listed; an intact notebook comes back
unchanged with no repairs.
"""
from __future__ import annotations

import copy
import difflib
import uuid

import nbformat


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


# What nbgrader grades by (a missing checksum or schema version is not worth a repair note).
GRADED_KEYS = ("grade_id", "grade", "solution", "locked", "points", "task")


def _graded_meta(cell) -> dict:
    return {k: v for k, v in _meta(cell).items() if k in GRADED_KEYS}


def _gid(cell) -> str | None:
    return _meta(cell).get("grade_id")


def _is_answer(cell) -> bool:
    return bool(_meta(cell).get("solution"))


def _text(cell) -> str:
    return "\n".join(line.rstrip() for line in str(cell.get("source", "")).strip().splitlines())


def _kind(cell) -> str:
    meta = _meta(cell)
    if meta.get("solution"):
        return "answer"
    if meta.get("grade") and cell.get("cell_type") == "code":
        return "test"
    return "read-only"


def repair(submission: nbformat.NotebookNode, release: nbformat.NotebookNode
           ) -> tuple[nbformat.NotebookNode, list[str]]:
    """(the repaired copy of ``submission``, the repairs made); see the module docstring."""
    sub_cells = list(submission.cells)
    rel_cells = list(release.cells)
    rel_ids = {_gid(c): i for i, c in enumerate(rel_cells) if _gid(c)}
    match: dict[int, int] = {}          # release index -> submission index
    duplicates: list[int] = []          # submission cells carrying an id already taken
    stray: list[int] = []               # submission cells with an id the release does not have

    # 1. by grade_id
    for j, cell in enumerate(sub_cells):
        gid = _gid(cell)
        if not gid:
            continue
        if gid in rel_ids and rel_ids[gid] not in match:
            match[rel_ids[gid]] = j
        elif gid in rel_ids:
            duplicates.append(j)
        else:
            stray.append(j)
    used = set(match.values()) | set(duplicates)

    # 2. read-only cells by content (first unused submission cell with the same text, in order)
    for i, rel in enumerate(rel_cells):
        if i in match or _is_answer(rel) or not _text(rel):
            continue
        for j, cell in enumerate(sub_cells):
            if j not in used and not _gid(cell) and _text(cell) == _text(rel):
                match[i] = j
                used.add(j)
                break

    # 3. answer cells by position between matched neighbours, then by likeness to the stub
    for i, rel in enumerate(rel_cells):
        if i in match or not _is_answer(rel):
            continue
        before = max((match[k] for k in match if k < i), default=-1)
        after = min((match[k] for k in match if k > i), default=len(sub_cells))
        candidates = [j for j in range(before + 1, after) if j not in used and not _gid(sub_cells[j])]
        if not candidates:
            continue
        stub = _text(rel)
        best = max(candidates, key=lambda j: (sub_cells[j].get("cell_type") == rel.get("cell_type"),
                                              difflib.SequenceMatcher(None, stub, _text(sub_cells[j])).ratio()))
        match[i] = best
        used.add(best)

    # write the repaired notebook
    repairs: list[str] = []
    by_sub = {j: i for i, j in match.items()}
    out: list[tuple[object, int | None]] = []   # (cell, release index or None for extra cells)
    for j, cell in enumerate(sub_cells):
        cell = copy.deepcopy(cell)
        if j in by_sub:
            i = by_sub[j]
            rel = rel_cells[i]
            name = _gid(rel) or f"cell {i + 1} of the release"
            if _graded_meta(cell) != _graded_meta(rel):
                repairs.append(f"restored the nbgrader metadata of {_kind(rel)} cell {name}")
            if cell.get("cell_type") != rel.get("cell_type"):
                repairs.append(f"changed {name} back to a {rel.get('cell_type')} cell")
            if _is_answer(rel):
                new = copy.deepcopy(rel)
                new["source"] = cell.get("source", "")   # the student's answer, in the release's cell
            else:
                new = copy.deepcopy(rel)
            out.append((new, i))
        else:
            if _meta(cell):
                why = "a copy of" if j in duplicates else "an id the release does not have:"
                repairs.append(f"dropped the nbgrader metadata of {why} {_gid(cell) or 'a cell'} "
                               f"(cell {j + 1}; its code still runs)" if _gid(cell) else
                               f"dropped stray nbgrader metadata of cell {j + 1}")
                cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}
            out.append((cell, None))
    for i, rel in enumerate(rel_cells):
        if i in match:
            continue
        position = next((p for p, (_, k) in enumerate(out) if k is not None and k > i), len(out))
        out.insert(position, (copy.deepcopy(rel), i))
        what = {"test": "test cell", "answer": "answer cell (as the release's stub)"}.get(_kind(rel), "cell")
        if _kind(rel) != "read-only" or _gid(rel):
            repairs.append(f"restored the deleted {what} {_gid(rel) or i + 1}")

    repaired = copy.deepcopy(submission)
    cells = [cell for cell, _ in out]
    seen: set[str] = set()
    for cell in cells:  # cell ids must be unique (a copied cell keeps its id)
        if cell.get("id") in seen or not cell.get("id"):
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell["id"])
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    repaired.cells = cells
    return repaired, repairs


SUMMARY = (("restored the nbgrader metadata", "metadata"), ("restored the deleted", "deleted cells"),
           ("back to a", "cell types"), ("a copy of", "duplicate ids"), ("does not have", "stray ids"),
           ("stray nbgrader", "stray ids"))


def summary(repairs: list[str]) -> str:
    """A short label for a status, e.g. ``metadata, deleted cells``."""
    kinds: list[str] = []
    for r in repairs:
        label = next((label for key, label in SUMMARY if key in r), "cells")
        if label not in kinds:
            kinds.append(label)
    return ", ".join(kinds)
