"""Submissions straight from the learning platform (autograder/collect.py): archives built in
Canvas's, Moodle's and Blackboard's naming schemes, a custom ``--id-pattern``, rosters, hostile
archives (in process, cheap), and one end-to-end toy grading from a Canvas zip."""
from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

import assignment_utils as au
from autograder import collect

NB = "toy.ipynb"


def notebook(tag: str) -> bytes:
    """A small valid notebook whose first cell says which file it came from."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {tag}")])
    return nbformat.writes(nb).encode()


def make_zip(path: Path, entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def collected(tmp_path: Path, entries: dict[str, bytes], **kw) -> tuple[dict[str, collect.Collected], collect.Collection]:
    archive = make_zip(tmp_path / "export.zip", entries)
    c = collect.collect(archive, NB, tmp_path / "out" / "collected", **kw)
    return {s.student_id: s for s in c.students}, c


def first_cell(s: collect.Collected) -> str:
    return nbformat.reads(s.path.read_text(), as_version=4).cells[0].source


def test_canvas_latest_resubmission_wins_late_is_noted_and_others_are_listed(tmp_path):
    got, c = collected(tmp_path, {
        "doejane_12345_678910_toy.ipynb": notebook("jane first"),
        "doejane_12345_678950_toy-1.ipynb": notebook("jane second"),
        "doejane_12345_678990_toy-2.ipynb": notebook("jane third"),
        "smithjohn_LATE_23456_678920_toy.ipynb": notebook("john late"),
        "leekim_34567_678930_answers.pdf": b"%PDF-1.4",
        "oddone_45678_678940_my work (1).ipynb": notebook("odd"),
    }, platform="canvas")
    assert sorted(got) == ["12345", "23456", "34567", "45678"]
    jane = got["12345"]
    assert jane.name == "doejane" and first_cell(jane) == "# jane third" and not jane.late
    assert jane.older == ["doejane_12345_678910_toy.ipynb", "doejane_12345_678950_toy-1.ipynb"]
    assert "graded the latest of 3 notebooks" in "; ".join(jane.notes())
    assert got["23456"].late and "late" in got["23456"].notes()[0]
    assert got["34567"].path is None and "no .ipynb" in got["34567"].problem
    assert first_cell(got["45678"]) == "# odd"  # the only notebook, whatever its name
    assert any("answers.pdf: not a notebook" in s for s in c.skipped)
    assert c.platform == "canvas"


def test_moodle_flat_and_folder_layouts(tmp_path):
    got, c = collected(tmp_path, {
        "Jane Doe_1001_assignsubmission_file_toy.ipynb": notebook("jane"),
        "John Smith_1002_assignsubmission_file_/scratch.ipynb": notebook("john scratch"),
        "John Smith_1002_assignsubmission_file_/toy.ipynb": notebook("john"),
        "Kim Lee_1003_assignsubmission_file_/a.ipynb": notebook("kim a"),
        "Kim Lee_1003_assignsubmission_file_/b.ipynb": notebook("kim b"),
        "Kim Lee_1003_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
    })  # no --platform: detected
    assert c.platform == "moodle"
    assert got["1001"].name == "Jane Doe" and first_cell(got["1001"]) == "# jane"
    assert first_cell(got["1002"]) == "# john"  # the one named like the assignment
    assert got["1003"].path is None and "nothing says which is the latest" in got["1003"].problem


def test_blackboard_attempts_are_ordered_by_their_date(tmp_path):
    got, c = collected(tmp_path, {
        "Toy_jdoe_attempt_2026-03-01-09-00-00_toy.ipynb": notebook("first"),
        "Toy_jdoe_attempt_2026-03-01-09-00-00.txt": b"Name: Jane Doe",
        "Toy_jdoe_attempt_2026-03-02-18-30-05_toy.ipynb": notebook("second"),
        "Toy_jsmith_attempt_2026-03-01-10-00-00_Toy notebook.ipynb": notebook("john"),
    }, platform="blackboard")
    assert first_cell(got["jdoe"]) == "# second" and len(got["jdoe"].older) == 1
    assert first_cell(got["jsmith"]) == "# john"


def test_id_pattern_like_zipcollect(tmp_path):
    got, _ = collected(tmp_path, {"hw1-s0042.ipynb": notebook("42"), "readme.txt": b"x"},
                       id_pattern=r"hw1-(?P<student_id>s\d+)")
    assert list(got) == ["s0042"]
    for bad in (r"(?P<id>\d+)", r"(unclosed"):
        with pytest.raises(collect.CollectError):
            collect.pattern_for(None, bad)


def test_hostile_archive_writes_nothing_outside_and_says_why(tmp_path):
    big = notebook("big") + b" " * 300_000  # compresses to almost nothing
    archive = make_zip(tmp_path / "export.zip", {
        "../doejane_1_10_toy.ipynb": notebook("traversal"),
        "/etc/doejane_2_20_toy.ipynb": notebook("absolute"),
        "C:\\evil\\doejane_3_30_toy.ipynb": notebook("drive"),
        "bigone_4_40_toy.ipynb": big,
        "ok_5_50_toy.ipynb": notebook("ok"),
        "__MACOSX/._ok_5_50_toy.ipynb": b"resource fork",
    }, symlinks={"link_6_60_toy.ipynb": "/etc/passwd"})
    with zipfile.ZipFile(archive, "a") as zf:  # the same entry twice
        zf.writestr("twice_7_70_toy.ipynb", notebook("a"))
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            zf.writestr("twice_7_70_toy.ipynb", notebook("b"))
    dest = tmp_path / "out" / "collected"
    c = collect.collect(archive, NB, dest, platform="canvas", limits=collect.Limits(max_notebook_bytes=100_000))
    got = {s.student_id: s for s in c.students}
    skipped = "\n".join(c.skipped)
    assert "../doejane_1_10_toy.ipynb: path leads outside" in skipped
    assert "/etc/doejane_2_20_toy.ipynb: absolute path" in skipped and "C:/evil/doejane_3_30_toy.ipynb: absolute" in skipped
    assert "link_6_60_toy.ipynb: symbolic link" in skipped
    assert "larger than" in got["4"].problem and got["4"].path is None
    assert "more than once" in got["7"].problem
    assert sorted(p.name for p in dest.iterdir()) == ["5.ipynb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.zip", "out"]  # nothing beside
    with pytest.raises(collect.CollectError, match="entries"):
        collect.collect(archive, NB, dest, platform="canvas", limits=collect.Limits(max_entries=3))
    with pytest.raises(collect.CollectError, match="uncompressed"):
        collect.collect(archive, NB, dest, platform="canvas", limits=collect.Limits(max_total_bytes=1000))
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(collect.CollectError, match="not a zip"):
        collect.Intake().check(tmp_path / "fake.zip")


@pytest.mark.parametrize("header, rows, expected", [
    ("Student,ID,SIS User ID,Section", ["    Points Possible,,,", '"Doe, Jane",12345,s1,A', '"Smith, John",23456,s2,A'],
     {"12345": "Doe, Jane", "23456": "Smith, John"}),                       # Canvas gradebook export
    ("Identifier,Full name,Email address,Status", ["Participant 1001,Jane Doe,j@x,Submitted"],
     {"1001": "Jane Doe"}),                                                  # Moodle grading worksheet
    ("\ufeffLast Name,First Name,Username,Student ID", ["Doe,Jane,jdoe,77"], {"jdoe": "Jane Doe"}),  # Blackboard
])
def test_rosters_of_each_platform(tmp_path, header, rows, expected):
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert collect.read_roster(path) == expected


def test_roster_without_an_id_column_is_a_clear_error(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("who,what\nx,y\n")
    with pytest.raises(collect.CollectError, match="no id column"):
        collect.read_roster(path)


@pytest.mark.slow
def test_grading_a_canvas_zip_with_a_roster(tmp_path):
    """``make grade SUBMISSIONS=export.zip``: the archive as Canvas gives it, a resubmission, a late
    one, and a roster with a student who sent nothing."""
    solutions = tmp_path / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    archive = make_zip(tmp_path / "export.zip", {
        "doejane_12345_1001_toy.ipynb": nbformat.writes(released).encode(),        # first try: blank
        "doejane_12345_1002_toy-1.ipynb": nbformat.writes(au.filled_release(released, source)).encode(),
        "smithjohn_LATE_23456_1003_toy.ipynb": b"{broken",
    })
    roster = tmp_path / "roster.csv"
    roster.write_text('Student,ID\n"Doe, Jane",12345\n"Smith, John",23456\n"Lee, Kim",34567\n')
    out = tmp_path / "graded"
    proc = au.run_grade_cli("toy", archive, "--out", out, "--solutions", solutions, "--roster", roster,
                            "--no-feedback")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = au.read_grades_csv(out / "grades.csv")
    assert {s: (r["status"], r["score"], r["name"]) for s, r in rows.items()} == {
        "12345": ("graded", "3", "Doe, Jane"), "23456": ("invalid notebook", "0", "Smith, John"),
        "34567": ("missing", "0", "Lee, Kim")}
    assert "not graded: doejane_12345_1001_toy.ipynb" in rows["12345"]["details"]
    assert "marked late" in rows["23456"]["details"]
    record = json.loads((out / "collection.json").read_text())
    assert record["platform"] == "canvas" and record["missing"] == ["34567"]
