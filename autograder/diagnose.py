"""Name a student's mistake: match the test cells a submission failed, and the hidden checks'
messages, against the assignment's mutant catalogue (:mod:`autograder.mutants`).

Each catalogued mutant is one typical mistake; its ``fails`` says which test cells it costs, and
``signatures.json`` beside this module records the message each of those cells raises for it
(``Ename: message``; recorded from in-process runs of the reference's mutants by
``tests/test_diagnose.py``). A submission is matched in two steps:

1. **Cells.** ``E`` = the test cells that failed with an error of their own; ``U`` = the cells
   whose outcome says nothing about a mistake (``NotImplementedError``: a task left undone; a
   timeout; a cell deleted). A mutant is a candidate when ``fails - U == E``: it explains every
   real failure and no cell that passed. So a half-finished notebook is still diagnosed on the
   tasks it did. A cell that lost its points only for output on stderr counts as passed.
2. **Messages.** Each candidate's recorded message for each cell of ``E`` is compared with the
   student's (:func:`similarity`: the same exception type, then alike texts once numbers are
   masked; short messages must be equal). Candidates below ``MIN_SIMILARITY`` are dropped, so a
   different mistake that fails the same cells is not misnamed; the best candidate is kept with
   every other within ``MARGIN`` of it. If some of those match the student's message exactly,
   numbers included (the checks are seeded), only they are kept. When several remain the
   diagnosis says so and names them all. A mutant with no recorded message (added after
   ``signatures.json`` was last written) is matched by its cells alone.

The reference, and any correct rewrite of it, fails no cell, so it is never diagnosed.

What the student reads is :func:`hint`: the mutant's ``hint``, or its ``description`` cut before
the part that says what should have been written ("... instead of ...", a formula after a colon),
so the feedback names the mistake without handing out the solution or the hidden checks' code.
"""
from __future__ import annotations

import contextlib
import difflib
import html
import importlib
import importlib.util
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from autograder.mutants import Mutant, load_catalogue

SIGNATURES = Path(__file__).with_name("signatures.json")
MIN_SIMILARITY = 0.6   # below this the student's message is not the mistake's message
MARGIN = 0.08          # candidates this close to the best one are reported together
SHORT = 40             # messages shorter than this must be equal (once numbers are masked)
CUT = 120              # grade.cell_outcomes keeps this many characters of a message
MAX_MESSAGE = 400      # characters of a normalised message kept (messages can hold tensor dumps)
TIMEOUT_ENAME = "CellTimeoutError"
# Outcomes that say nothing about which mistake was made: the task was not done, the cell was
# stopped, or the cell is gone.
UNKNOWN_OUTCOMES = ("NotImplementedError", TIMEOUT_ENAME, "cell missing", "lost points")
STDERR_ONLY = "output on stderr"   # the checks passed; the cell lost its points for its output
FEEDBACK_MARK = "<!-- seqlab-diagnosis -->"


# ----------------------------------------------------------------------------- wording

_CUTS = (" instead of ", ", not ", " rather than ")
_CODE_PARENTHESIS = re.compile(r"\s+\([^()]*[=\[\]^*/][^()]*\)(?![\w^(])")


def hint(mutant: Mutant) -> str:
    """What a student reads about ``mutant``: its ``hint`` if the catalogue gives one, else its
    ``description`` shortened where it starts to say what the right code is: the clause after
    "instead of" goes, a formula before a colon gives way to the words after it, and a
    parenthesis holding code is dropped."""
    given = getattr(mutant, "hint", "") or ""
    if given:
        return given
    text = " ".join(mutant.description.split())
    if ": " in text:
        before, after = text.split(": ", 1)
        words = [w for w in before.split() if re.fullmatch(r"[A-Za-z']{2,}", w)]
        text = before if len(words) >= 3 else after
    for cut in _CUTS:
        head = text.split(cut, 1)[0]
        if head != text and len(head.split()) >= 4:
            text = head
    if text.count("(") > text.count(")"):  # the cut fell inside a parenthesis
        text = text[:text.rfind("(")]
    return _CODE_PARENTHESIS.sub("", text).rstrip(" ,;:.")


# ----------------------------------------------------------------------------- messages

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf)\b", re.I)


def normalise(message: str) -> str:
    """``message`` with numbers masked as ``#`` and white space collapsed: the same mistake gives
    the same text whatever values the student's code happened to produce."""
    text = _NUMBER.sub("#", " ".join(str(message).split()))
    return re.sub(r"#(?:[ ,]*#)+", "#…", text)[:MAX_MESSAGE]


def ename(message: str) -> str:
    """The exception name of an ``Ename: message`` outcome."""
    head = message.split(":", 1)[0].strip()
    return head if re.fullmatch(r"[A-Za-z_][\w.]*", head) else ""


def similarity(student: str, recorded: str) -> float:
    """0..1: how alike two outcomes are: 0 when the exception types differ, else how alike the
    messages are once numbers are masked (short ones, like ``name 'x' is not defined``, must be
    equal). A student message of ``CUT`` characters or more may have
    been cut short (``grades.csv`` keeps the first 120), so then only the recorded message's start
    of the same length is compared."""
    if ename(student) != ename(recorded):
        return 0.0
    # signatures.json keeps the first MAX_MESSAGE characters of each message: compare as much
    student, recorded = (" ".join(m.split())[:MAX_MESSAGE] for m in (student, recorded))
    a, b = (normalise(m.split(":", 1)[1] if ":" in m else "").strip() for m in (student, recorded))
    raw = student.split(":", 1)[1].strip() if ":" in student else ""
    if len(raw) >= CUT:
        b = b[:len(a)]
    if min(len(a), len(b)) < SHORT:  # too little text to be alike: equal or not ("KeyError: 'a'")
        return 1.0 if a == b else 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def same_text(student: str, recorded: str) -> bool:
    """Whether two outcomes are the very same text, numbers included (a student message of
    ``CUT`` characters or more is compared with the recorded one's start)."""
    a, b = (" ".join(m.split())[:MAX_MESSAGE] for m in (student, recorded))
    raw = a.split(":", 1)[1].strip() if ":" in a else ""
    return a == b or (len(raw) >= CUT and b.startswith(a))


def outcome_of(exc: BaseException) -> str:
    """``Ename: message`` of an exception, as nbgrader's notebook records it."""
    value = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {value}" if value else type(exc).__name__


# ----------------------------------------------------------------------------- matching

@dataclass(frozen=True)
class Diagnosis:
    """The catalogued mistake(s) a submission's failures match, best first."""
    mistakes: tuple[Mutant, ...]
    cells: tuple[str, ...]      # the failed test cells the diagnosis explains
    score: float | None         # message similarity of the best match (None: matched by cells only)

    @property
    def ambiguous(self) -> bool:
        return len(self.mistakes) > 1

    @property
    def key(self) -> str:
        """One label for counting: the mutant's name, or ``a | b`` for an ambiguous match."""
        return " | ".join(m.name for m in self.mistakes)

    def text(self) -> str:
        """What the student (and ``details``) reads."""
        hints = list(dict.fromkeys(hint(m) for m in self.mistakes))
        if len(hints) == 1:
            return f"likely mistake: {hints[0]}"
        return "the failures fit several known mistakes, likely one of: " + "; or ".join(hints)


def split_failures(failures: Mapping[str, str]) -> tuple[dict[str, str], set[str]]:
    """(cells that failed with an error of their own -> message, cells whose outcome is unknown)."""
    errors, unknown = {}, set()
    for gid, why in failures.items():
        if why.startswith(UNKNOWN_OUTCOMES):
            unknown.add(gid)
        elif why != STDERR_ONLY:
            errors[gid] = why
    return errors, unknown


def diagnose(failures: Mapping[str, str], catalogue: Iterable[Mutant],
             signatures: Mapping[str, Mapping[str, str]] | None = None) -> Diagnosis | None:
    """The mistake(s) that explain ``failures`` (test cell grade_id -> ``Ename: message`` for each
    test cell that lost points; cells not named passed), or None. ``signatures``: mutant name ->
    {grade_id: recorded message} (default: none, so cells alone decide)."""
    errors, unknown = split_failures(failures)
    if not errors:
        return None
    signatures = signatures or {}
    known: list[tuple[float, Mutant]] = []
    by_cells: list[Mutant] = []
    for m in catalogue:
        if set(m.fails) - unknown != set(errors):
            continue
        recorded = signatures.get(m.name, {})
        scores = [similarity(errors[g], recorded[g]) for g in errors if g in recorded]
        if not scores:
            by_cells.append(m)
        elif (s := min(scores)) >= MIN_SIMILARITY:
            known.append((s, m))
    cells = tuple(sorted(errors))
    if known:
        best = max(s for s, _ in known)
        chosen = [m for s, m in sorted(known, key=lambda sm: -sm[0]) if s >= best - MARGIN]
        # Alike once numbers are masked; the checks are seeded, so the same mistake usually gives
        # the very same numbers: where only some candidates match exactly, those are the ones.
        exact = [m for m in chosen if all(same_text(errors[g], signatures[m.name].get(g, "")) for g in errors)]
        return Diagnosis(tuple(exact if 0 < len(exact) < len(chosen) else chosen), cells, round(best, 3))
    if by_cells:
        return Diagnosis(tuple(by_cells), cells, None)
    return None


# ----------------------------------------------------------------------------- catalogues and signatures

def catalogue_for(assignment: str) -> list[Mutant]:
    """The assignment's mutant catalogue, or [] if it has none (e.g. a course's own assignment)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", assignment) or \
            importlib.util.find_spec(f"autograder.mutants.{assignment}") is None:
        return []
    return load_catalogue(assignment)


def load_signatures(assignment: str, path: Path = SIGNATURES) -> dict[str, dict[str, str]]:
    """mutant name -> {grade_id: recorded message} for ``assignment`` ({} if none recorded)."""
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get(assignment, {})


def write_signatures(assignment: str, signatures: Mapping[str, Mapping[str, str]],
                     path: Path = SIGNATURES) -> None:
    """Record ``signatures`` (mutant -> {cell: message}) for ``assignment``: messages as raised
    (white space collapsed, cut at ``MAX_MESSAGE``), numbers included, since equal numbers can
    tell apart two mistakes whose messages are otherwise alike."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data[assignment] = {m: {g: " ".join(msg.split())[:MAX_MESSAGE] for g, msg in sorted(cells.items())}
                        for m, cells in sorted(signatures.items())}
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def in_process_outcomes(nb, test_cells: Iterable[str], skip: Iterable[str] = ()) -> dict[str, str]:
    """Run ``nb``'s code cells in order in this process, as nbgrader would (test cells included,
    output discarded; cells whose grade_id is in ``skip`` left out), and return grade_id ->
    ``Ename: message`` for each test cell that raised. For trusted notebooks only (the reference
    and its mutants): this is how ``signatures.json`` is recorded."""
    test_cells, skip = set(test_cells), set(skip)
    namespace: dict = {"__name__": "__main__"}
    failed: dict[str, str] = {}
    for index, cell in enumerate(nb.cells):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") != "code" or gid in skip:
            continue
        code = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in cell.source.splitlines())
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                exec(compile(code, f"<cell {index}: {gid or 'code'}>", "exec"), namespace)
            except Exception as e:  # noqa: BLE001 - a test cell's failure is the outcome we record
                if gid not in test_cells:
                    raise CellError(gid or f"cell {index}", e) from e
                failed[gid] = outcome_of(e)
    return failed


class CellError(Exception):
    """A cell other than a test cell raised while :func:`in_process_outcomes` ran the notebook."""

    def __init__(self, grade_id: str, error: BaseException):
        super().__init__(f"{grade_id}: {outcome_of(error)}")
        self.grade_id, self.error = grade_id, error


# ----------------------------------------------------------------------------- a grading run

def graded_failures(result, test_cells: Mapping[str, float], autograded: Path | None = None) -> dict[str, str]:
    """grade_id -> outcome for each test cell ``result`` lost points in; messages are read whole
    from the autograded notebook when there is one (``grades.csv`` keeps only their start)."""
    failures = {g: why for g, why in result.cell_errors.items() if g in test_cells}
    if autograded is not None and autograded.is_file():
        import nbformat
        nb = nbformat.read(autograded, as_version=4)
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid not in failures or not failures[gid] or failures[gid].startswith(UNKNOWN_OUTCOMES):
                continue
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                value = " ".join(str(errors[0].get("evalue", "")).split())
                failures[gid] = f"{errors[0].get('ename')}: {value}" if value else str(errors[0].get("ename"))
    return failures


def autograded_path(run, student_id: str) -> Path | None:
    folder = Path(run.out_dir) / "autograded" / student_id / run.assignment
    found = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    return found[0] if found else None


def annotate(run, catalogue: list[Mutant] | None = None,
             signatures: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Diagnosis]:
    """Diagnose every student of a :class:`~autograder.grade.GradingRun` against the assignment's
    catalogue and add the diagnosis to their ``details``. Returns student id -> diagnosis (only
    the students with one). Never raises: a diagnosis is advice, and the grades must be written
    whatever happens here (a problem is a warning on stderr)."""
    found: dict[str, Diagnosis] = {}
    try:
        catalogue = catalogue_for(run.assignment) if catalogue is None else catalogue
        signatures = (load_signatures(run.assignment) if signatures is None else signatures) if catalogue else {}
    except Exception as e:  # noqa: BLE001
        print(f"warning: no mistake diagnosis ({type(e).__name__}: {e})", file=sys.stderr)
        return found
    for r in run.results if catalogue else []:
        if not r.cell_errors:
            continue
        try:
            failures = graded_failures(r, run.test_cells, autograded_path(run, r.student_id))
            d = diagnose(failures, catalogue, signatures)
        except Exception as e:  # noqa: BLE001
            print(f"warning: no mistake diagnosis for {r.student_id} ({type(e).__name__}: {e})", file=sys.stderr)
            continue
        if d is not None:
            found[r.student_id] = d
            r.details = "; ".join(filter(None, [r.details, d.text()]))
    return found


def feedback_html(d: Diagnosis) -> str:
    """The box added to a student's feedback page."""
    hints = list(dict.fromkeys(hint(m) for m in d.mistakes))
    cells = ", ".join(f'<a href="#{html.escape(g)}">{html.escape(g)}</a>' for g in d.cells)
    if len(hints) == 1:
        body = f"<p>The failing test cells ({cells}) fit a known mistake: <b>{html.escape(hints[0])}</b>.</p>"
    else:
        items = "".join(f"<li>{html.escape(h)}</li>" for h in hints)
        body = (f"<p>The failing test cells ({cells}) fit several known mistakes; "
                f"it is likely one of these:</p><ul>{items}</ul>")
    return (f'{FEEDBACK_MARK}<div class="seqlab-diagnosis" style="border:2px solid #c77700;'
            f'background:#fff7e6;padding:8px 12px;margin:8px 0;border-radius:4px">'
            f"<h4 style=\"margin-top:0\">What went wrong</h4>{body}"
            f"<p style=\"margin-bottom:0\">Read the messages of those cells below, fix the code, "
            f"and run the visible checks again.</p></div>{FEEDBACK_MARK}")


def add_to_feedback(run, diagnoses: Mapping[str, Diagnosis]) -> int:
    """Put each diagnosis at the top of the student's nbgrader feedback page(s), under the score
    (again on a rerun: an earlier box is replaced). Returns the number of pages changed."""
    changed = 0
    for sid, d in diagnoses.items():
        folder = Path(run.out_dir) / "feedback" / sid / run.assignment
        for page in sorted(folder.glob("*.html")) if folder.is_dir() else []:
            try:
                text = page.read_text(encoding="utf-8")
                text = re.sub(re.escape(FEEDBACK_MARK) + ".*?" + re.escape(FEEDBACK_MARK), "", text, flags=re.S)
                heading = re.search(r"</h4>", text)
                at = heading.end() if heading else (m.end() if (m := re.search(r"<body[^>]*>", text)) else 0)
                page.write_text(text[:at] + feedback_html(d) + text[at:], encoding="utf-8")
                changed += 1
            except (OSError, UnicodeError) as e:
                print(f"warning: could not add the diagnosis to {page}: {e}", file=sys.stderr)
    return changed
