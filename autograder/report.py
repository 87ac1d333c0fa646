"""The class report: one self-contained HTML page per graded assignment (``OUT/report.html``).

    python -m autograder.grade a03 submissions/ --out graded/     # writes graded/report.html
    python -m autograder.report graded/                           # writes it again from grades.csv

What an instructor reads after a run, top to bottom:

- the score distribution (an inline SVG histogram; students who could not be graded are counted
  at 0 in their own colour);
- each test cell's failure rate among the students nbgrader ran, with the most common errors;
- the most common recognised mistakes (:mod:`autograder.diagnose`), with the students concerned;
- the statuses (timed out, kernel died, repaired, invalid ...) with the students concerned;
- the grading time per student (with total, mean, median and maximum).

The page needs nothing from the network: no script, no stylesheet or font from a CDN, the plot
is inline SVG. Every text that comes from a submission (ids, error messages) is escaped.
"""
from __future__ import annotations

import argparse
import csv
import html
import re
import statistics
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Mapping

from autograder import diagnose

GRADED, TIMED_OUT = "graded", "timed out"   # as in autograder.grade (not imported: no cycle)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;
     padding:0 16px;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:4px} h2{margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:.92em} th,td{border:1px solid #ddd;
     padding:4px 8px;vertical-align:top;text-align:left} th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#666}
.bar{display:inline-block;height:10px;background:#c0392b;vertical-align:middle}
.tbar{display:inline-block;height:10px;background:#2e86c1;vertical-align:middle}
.warn{border:2px solid #c0392b;background:#fdecea;padding:8px 12px}
code{font-size:.9em}
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _base_status(status: str) -> str:
    return status.split(" (")[0]


def ran_cells(result) -> bool:
    """Whether nbgrader scored this student's test cells one by one (graded, or graded with some
    cells timed out), so that the cell-by-cell figures can count them."""
    base = _base_status(result.status)
    return base == GRADED or (base == TIMED_OUT and bool(result.cell_errors))


# ----------------------------------------------------------------------------- the plot

def score_histogram_svg(scores_graded: list[float], scores_other: list[float], max_score: float,
                        width: int = 640, height: int = 240) -> str:
    """An inline SVG histogram of the scores: one bar per point (or 10 bins when the maximum is
    above 20), graded students in blue, students who could not be graded (score 0) in grey."""
    if max_score <= 0:
        max_score = max(scores_graded + scores_other + [1.0])
    nbins = int(max_score) + 1 if max_score <= 20 and float(max_score).is_integer() else 10
    step = max_score / (nbins - 1) if nbins == int(max_score) + 1 else max_score / nbins

    def bin_of(score: float) -> int:
        return min(nbins - 1, max(0, int(score // step))) if step > 0 else 0

    graded, other = [0] * nbins, [0] * nbins
    for s in scores_graded:
        graded[bin_of(s)] += 1
    for s in scores_other:
        other[bin_of(s)] += 1
    top = max([g + o for g, o in zip(graded, other)] + [1])
    left, bottom, right, upper = 44, 40, 12, 14
    plot_w, plot_h = width - left - right, height - bottom - upper
    bw = plot_w / nbins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="score distribution">',
             f'<line x1="{left}" y1="{upper + plot_h}" x2="{left + plot_w}" y2="{upper + plot_h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{upper}" x2="{left}" y2="{upper + plot_h}" stroke="#333"/>']
    ticks = sorted({0, top} | ({top // 2} if top >= 4 else set()))
    for t in ticks:
        y = upper + plot_h - plot_h * t / top
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{t}</text>')
        parts.append(f'<line x1="{left - 3}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" stroke="#333"/>')
    for i in range(nbins):
        x = left + i * bw
        for count, below, colour, kind in ((graded[i], 0, "#2e86c1", "graded"),
                                          (other[i], graded[i], "#aaaaaa", "not graded")):
            if count:
                h = plot_h * count / top
                y = upper + plot_h - plot_h * below / top - h
                parts.append(f'<rect class="bin" x="{x + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" '
                             f'fill="{colour}"><title>{count} {kind}</title></rect>')
        label = f"{i * step:g}" if nbins == int(max_score) + 1 else f"{i * step:.3g}–{(i + 1) * step:.3g}"
        if nbins <= 21:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{upper + plot_h + 14}" font-size="10" '
                         f'text-anchor="middle">{_esc(label)}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="12" text-anchor="middle">'
                 f'score (of {max_score:g})</text>')
    parts.append(f'<text x="12" y="{upper + plot_h / 2}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 12 {upper + plot_h / 2})">students</text>')
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------- sections

def _students(ids) -> str:
    return ", ".join(_esc(s) for s in sorted(ids)) or '<span class="muted">none</span>'


def _cell_table(run) -> str:
    counted = [r for r in run.results if ran_cells(r)]
    rows = []
    for gid, points in run.test_cells.items():
        failed = [r for r in counted if r.cell_scores.get(gid, 0.0) < points]
        reasons = Counter(diagnose.ename(r.cell_errors.get(gid, "")) or r.cell_errors.get(gid, "lost points")
                          for r in failed)
        rate = len(failed) / len(counted) if counted else 0.0
        common = ", ".join(f"{_esc(why)} ×{n}" for why, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        rows.append(f'<tr><td><code>{_esc(gid)}</code></td><td class="num">{points:g}</td>'
                    f'<td class="num">{len(failed)}/{len(counted)}</td>'
                    f'<td class="num">{100 * rate:.0f}%</td>'
                    f'<td><span class="bar" style="width:{200 * rate:.0f}px"></span></td><td>{common}</td></tr>')
    return (f"<p>Among the {len(counted)} student(s) whose test cells nbgrader scored one by one "
            f"(graded, or graded with cells timed out).</p>"
            "<table><tr><th>test cell</th><th>points</th><th>failed</th><th>failure rate</th><th></th>"
            "<th>most common errors</th></tr>" + "".join(rows) + "</table>")


def _mistake_table(run, diagnoses: Mapping[str, diagnose.Diagnosis], catalogue) -> str:
    if not catalogue:
        return '<p class="muted">This assignment has no mutant catalogue, so no mistake is recognised.</p>'
    groups: dict[str, list[str]] = {}
    found: dict[str, diagnose.Diagnosis] = {}
    for sid, d in diagnoses.items():
        groups.setdefault(d.key, []).append(sid)
        found[d.key] = d
    lost = [r.student_id for r in run.results if ran_cells(r) and r.score < r.max_score]
    unexplained = sorted(set(lost) - set(diagnoses))
    rows = []
    for key, students in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        d = found[key]
        what = "<br>".join(f"<b>{_esc(m.name)}</b>: {_esc(m.description)}" for m in d.mistakes)
        said = _esc(d.text())
        rows.append(f'<tr><td class="num">{len(students)}</td><td>{what}'
                    f'{"<br><i>ambiguous: the failures fit each of these</i>" if d.ambiguous else ""}</td>'
                    f'<td>{", ".join(f"<code>{_esc(c)}</code>" for c in d.cells)}</td>'
                    f'<td class="muted">{said}</td><td>{_students(students)}</td></tr>')
    table = ("<table><tr><th>students</th><th>mistake (catalogue)</th><th>failed cells</th>"
             "<th>what the student reads</th><th>who</th></tr>" + "".join(rows) + "</table>") if rows \
        else '<p class="muted">No catalogued mistake was recognised.</p>'
    return (table + f"<p>{len(diagnoses)} of the {len(lost)} graded student(s) who lost points made a "
            f"recognised mistake; not recognised: {_students(unexplained)}.</p>")


def _status_table(run) -> str:
    by_status: dict[str, list] = {}
    for r in run.results:
        by_status.setdefault(r.status, []).append(r)
    order = sorted(by_status, key=lambda s: (_base_status(s) != GRADED, s != GRADED, s))
    rows = []
    for status in order:
        rs = sorted(by_status[status], key=lambda r: r.student_id)
        if status == GRADED:
            who = _students(r.student_id for r in rs)
        else:
            who = "<br>".join(f"<b>{_esc(r.student_id)}</b>: <span class=\"muted\">{_esc(r.details[:300])}</span>"
                              for r in rs)
        rows.append(f'<tr><td>{_esc(status)}</td><td class="num">{len(rs)}</td><td>{who}</td></tr>')
    return "<table><tr><th>status</th><th>students</th><th>who (and why)</th></tr>" + "".join(rows) + "</table>"


def _time_table(run, diagnoses) -> str:
    times = [r.seconds for r in run.results if r.seconds > 0]
    if times:
        summary = (f"<p>Grading time of the {len(times)} student(s) nbgrader ran: total {sum(times):.1f} s, "
                   f"mean {statistics.mean(times):.1f} s, median {statistics.median(times):.1f} s, "
                   f"max {max(times):.1f} s (wall-clock, including the kernel's start; with --jobs N, "
                   f"N students were graded at a time).</p>")
    else:
        summary = '<p class="muted">No student was run.</p>'
    longest = max(times + [1e-9])
    rows = []
    for r in sorted(run.results, key=lambda r: (-r.seconds, r.student_id)):
        d = diagnoses.get(r.student_id)
        rows.append(f'<tr><td>{_esc(r.student_id)}</td><td>{_esc(r.status)}</td>'
                    f'<td class="num">{r.score:g}/{r.max_score:g}</td><td class="num">{r.seconds:.1f}</td>'
                    f'<td><span class="tbar" style="width:{160 * r.seconds / longest:.0f}px"></span></td>'
                    f'<td class="muted">{_esc(d.key) if d else ""}</td></tr>')
    return summary + ("<table><tr><th>student</th><th>status</th><th>score</th><th>seconds</th><th></th>"
                      "<th>recognised mistake</th></tr>" + "".join(rows) + "</table>")


# ----------------------------------------------------------------------------- the page

def render(run, diagnoses: Mapping[str, diagnose.Diagnosis] | None = None, catalogue=None) -> str:
    """The report of a :class:`~autograder.grade.GradingRun` as one HTML document."""
    diagnoses = diagnoses or {}
    catalogue = diagnose.catalogue_for(run.assignment) if catalogue is None else catalogue
    max_score = sum(run.test_cells.values())
    graded = [r.score for r in run.results if ran_cells(r)]
    other = [r.score for r in run.results if not ran_cells(r)]
    scores = graded + other
    stats = (f"mean {statistics.mean(scores):.2f}, median {statistics.median(scores):g}, "
             f"full marks {sum(s >= max_score for s in scores)}, zero {sum(s == 0 for s in scores)}"
             if scores else "no submissions")
    warnings = []
    if getattr(run, "gradebook_problems", None):
        warnings.append('<div class="warn"><b>Gradebook check failed</b> (see GRADEBOOK_CHECK_FAILED.txt):<ul>'
                        + "".join(f"<li>{_esc(p)}</li>" for p in run.gradebook_problems) + "</ul></div>")
    if not getattr(run, "sandboxed", True):
        warnings.append('<div class="warn">Graded <b>without the sandbox</b> (--no-sandbox).</div>')
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Class report: {_esc(run.assignment)}</title><style>{CSS}</style></head><body>",
        f"<h1>Class report: {_esc(run.assignment)}</h1>",
        f'<p class="muted">{len(run.results)} submission(s); {len(run.test_cells)} test cell(s), '
        f"{max_score:g} points. Written by <code>python -m autograder.grade</code> beside "
        f"<code>grades.csv</code>.</p>", *warnings,
        "<h2>Score distribution</h2>", f"<p>{stats}. Grey: could not be graded (score 0).</p>",
        score_histogram_svg(graded, other, max_score),
        "<h2>Test cells: failure rate</h2>", _cell_table(run),
        "<h2>Most common recognised mistakes</h2>", _mistake_table(run, diagnoses, catalogue),
        "<h2>Statuses</h2>", _status_table(run),
        "<h2>Grading time per student</h2>", _time_table(run, diagnoses),
        "</body></html>", ""])


def write_report(run, path: Path, diagnoses: Mapping[str, diagnose.Diagnosis] | None = None,
                 catalogue=None) -> Path:
    """Write :func:`render`'s page to ``path`` and return it; None, with a warning on stderr, if
    it could not be written (the grades are written whatever happens to the report)."""
    path = Path(path)
    try:
        path.write_text(render(run, diagnoses, catalogue), encoding="utf-8")
    except Exception as e:  # noqa: BLE001
        print(f"warning: the class report could not be written ({type(e).__name__}: {e})", file=sys.stderr)
        return None
    return path


# ----------------------------------------------------------------------------- from grades.csv

FIXED_COLUMNS = ("student_id", "status", "score", "max_score")
AFTER_CELLS = "details"


def run_from_csv(out_dir: Path, assignment: str | None = None):
    """A run rebuilt from ``out_dir/grades.csv`` (e.g. the merged grades of several shards): the
    same fields as :class:`~autograder.grade.GradingRun`, each test cell's error taken back from
    ``details`` (``grade_id: why`` and ``exceeded N s: ids``; messages there are cut at 120
    characters, which :mod:`autograder.diagnose` allows for). ``assignment`` defaults to the one
    folder in ``out_dir/source``."""
    out_dir = Path(out_dir)
    if assignment is None:
        found = sorted(p.name for p in (out_dir / "source").iterdir() if p.is_dir()) \
            if (out_dir / "source").is_dir() else []
        if len(found) != 1:
            raise ValueError(f"cannot tell the assignment from {out_dir / 'source'} ({found}); name it")
        assignment = found[0]
    with open(out_dir / "grades.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        cells_at = slice(len(FIXED_COLUMNS), header.index(AFTER_CELLS))
        gids = header[cells_at]
        rows = [dict(zip(header, row)) for row in reader]
    max_score = float(rows[0]["max_score"]) if rows else 0.0
    results = []
    for row in rows:
        errors = _errors_from_details(row.get("details", ""), gids)
        results.append(SimpleNamespace(
            student_id=row["student_id"], status=row["status"], score=float(row["score"]),
            max_score=float(row["max_score"]), cell_scores={g: float(row[g] or 0) for g in gids},
            cell_errors=errors, details=row.get("details", ""), seconds=float(row.get("seconds") or 0),
            submission=row.get("submission", "")))
    points = _cell_points(out_dir, assignment) or {}
    if set(points) != set(gids):  # no source notebook: the most any student earned (a lower bound)
        points = {g: max([r.cell_scores[g] for r in results] + [0.0]) for g in gids}
    return SimpleNamespace(assignment=assignment, out_dir=out_dir, test_cells=points, results=results,
                           sandboxed=True, gradebook_problems=[],
                           by_student=lambda: {r.student_id: r for r in results})


def _cell_points(out_dir: Path, assignment: str) -> dict[str, float] | None:
    """grade_id -> points, from the source notebook the run copied to ``out_dir/source``."""
    import nbformat

    from autograder.grade import graded_test_cells  # here: grade imports this module
    found = sorted((out_dir / "source" / assignment).glob("*.ipynb"))
    return graded_test_cells(nbformat.read(found[0], as_version=4)) if len(found) == 1 else None


def _errors_from_details(details: str, gids: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    last = None
    for part in details.split("; "):
        timed = re.fullmatch(r"exceeded \d+ s: (.+)", part)
        head = part.split(": ", 1)
        if timed:
            for g in timed.group(1).split(", "):
                if g in gids:
                    errors[g] = diagnose.TIMEOUT_ENAME
            last = None
        elif head[0] in gids and len(head) == 2:
            last = head[0]
            errors[last] = head[1]
        elif last is not None and not part.startswith(("likely mistake", "the failures fit", "repaired")):
            errors[last] += "; " + part  # a message that itself held "; "
        else:
            last = None
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.report",
                                     description="Write OUT/report.html again from OUT/grades.csv.")
    parser.add_argument("out", type=Path, help="a folder written by python -m autograder.grade (or a merge)")
    parser.add_argument("--assignment", help="the assignment (default: the one folder in OUT/source)")
    args = parser.parse_args(argv)
    try:
        run = run_from_csv(args.out, args.assignment)
    except (OSError, ValueError, KeyError, StopIteration) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    catalogue = diagnose.catalogue_for(run.assignment)
    signatures = diagnose.load_signatures(run.assignment) if catalogue else {}
    diagnoses = {r.student_id: d for r in run.results if r.cell_errors and
                 (d := diagnose.diagnose(r.cell_errors, catalogue, signatures)) is not None}
    path = write_report(run, args.out / "report.html", diagnoses, catalogue)
    if path is None:
        return 1
    print(f"class report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
