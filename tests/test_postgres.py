"""A real PostgreSQL gradebook (``make grade DB=postgresql://...``) and shards (``--shard i/n``).

A PostgreSQL server is started for the session in a temporary folder, listening on a Unix socket
only (no TCP port to clash with anything). As root it runs as the ``postgres`` user (created by
Debian's ``postgresql`` package) or ``nobody``: the server refuses to run as root. Without the
PostgreSQL binaries the tests FAIL with what to install; they are never skipped.

The toy class is graded three ways and must give the same grades: into the run's own SQLite
gradebook with ``--jobs 2``; into PostgreSQL with ``--jobs 2`` (no "database is locked", no
student graded twice); and as two shards running at once into one PostgreSQL database, whose
folders ``python -m autograder.gradebook_db merge`` joins into the whole class's grades.csv.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest

import assignment_utils as au
from autograder import grade, gradebook_db, release

PG_HINT = ("PostgreSQL's server binaries (initdb, pg_ctl) are needed by the PostgreSQL gradebook tests: "
           "install them (Debian/Ubuntu: apt-get install postgresql; .ci/run does it)")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return versions[-1] if versions else None


class Server:
    def __init__(self, folder: Path, run_as: list[str], bindir: Path) -> None:
        self.folder, self.run_as, self.bindir = folder, run_as, bindir

    def create_db(self, name: str) -> str:
        """A fresh database on the server; its URL (as an instructor writes it: postgresql://)."""
        from sqlalchemy import text
        with gradebook_db.connection(self.url("postgres")) as conn:
            conn.execute(text("COMMIT"))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://seqlab@/{db}?host={self.folder}"


@pytest.fixture(scope="session")
def postgres():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.fail(PG_HINT)
    folder = Path(tempfile.mkdtemp(prefix="seqlab-pg-", dir="/tmp"))  # short: the socket path
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = "postgres" if _has_user("postgres") else "nobody"
        shutil.chown(folder, user)
        run_as = ["runuser", "-u", user, "--"]
    data = folder / "data"
    subprocess.run([*run_as, initdb, "-D", str(data), "-U", "seqlab", "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, text=True)
    start = subprocess.run([*run_as, pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
                            "-o", f"-k {folder} -c listen_addresses='' -c fsync=off", "start"],
                           capture_output=True, text=True)
    if start.returncode != 0:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        pytest.fail(f"PostgreSQL did not start: {start.stdout}{start.stderr}{log}")
    try:
        yield Server(folder, run_as, Path(pg_ctl).parent)
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# ----------------------------------------------------------------------------- cheap: no server

def test_gradebook_urls_and_shards():
    assert gradebook_db.normalize_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert gradebook_db.normalize_url("postgres://u:pw@h:5432/db").startswith("postgresql+psycopg2://u:pw@h")
    for bad in ("mysql://u@h/db", "postgresql://u@h", "sqlite://relative.db", "gradebook.db"):
        with pytest.raises(gradebook_db.GradebookError):
            gradebook_db.normalize_url(bad)
    assert gradebook_db.redact("postgresql://ta:secret@db.example/course") == "postgresql://ta:***@db.example/course"
    assert gradebook_db.parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(gradebook_db.GradebookError):
            gradebook_db.parse_shard(bad)
    ids = [f"s{k:02d}" for k in range(11)]
    parts = [gradebook_db.shard_of(list(reversed(ids)), i, 3) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == ids and [len(p) for p in parts] == [4, 4, 3]  # a partition, balanced


def test_merge_refuses_an_incomplete_set_of_shards(tmp_path):
    import json
    for i in (1, 3):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        (folder / "collection.json").write_text(json.dumps({"assignment": "toy", "everyone": ["a", "b", "c"],
                                                            "shard": [i, 3]}))
        (folder / "grades.csv").write_text("student_id,status,score\n")
    with pytest.raises(gradebook_db.GradebookError, match="1/3, 3/3"):
        gradebook_db.merge([tmp_path / "s1", tmp_path / "s3"], tmp_path / "all")


# ----------------------------------------------------------------------------- the real server

def test_gradebook_check_sees_what_was_added_to_a_postgres_gradebook(postgres, tmp_path):
    from sqlalchemy import text

    solutions = tmp_path / "solutions"
    au.make_toy_assignment(solutions)
    (tmp_path / "course").mkdir()
    url = postgres.create_db("check")
    db = grade.build_course("toy", tmp_path / "course", solutions, db_url=url)
    assert db == gradebook_db.url_for(tmp_path / "course") and not (tmp_path / "course" / "gradebook.db").exists()
    before = grade.gradebook_schema(db)
    assert {k for k, _, _ in before} >= {"table", "index"}
    assert grade.verify_gradebook(db, "toy", [], before) == []
    with gradebook_db.engine(db).begin() as conn:
        conn.execute(text("CREATE FUNCTION full_marks() RETURNS trigger AS $$ BEGIN NEW.auto_score := 99; "
                          "RETURN NEW; END $$ LANGUAGE plpgsql"))
        conn.execute(text("CREATE TRIGGER sneaky BEFORE INSERT ON grade FOR EACH ROW EXECUTE FUNCTION full_marks()"))
    problems = grade.verify_gradebook(db, "toy", [], before)
    assert any("trigger" in p and "sneaky" in p for p in problems), problems
    assert any("function" in p and "full_marks" in p for p in problems), problems


def _toy_class(tmp: Path) -> tuple[Path, Path]:
    solutions = tmp / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    absolute = next(m for m in au.TOY_MUTANTS if m.name == "absolute")
    class_ = {"ref": au.filled_release(released, source), "blank": released, "broken": "{not json",
              "absolute": au.filled_release(released, au.mutated_source(source, absolute))}
    return solutions, au.write_submissions(tmp / "submissions", class_)


def _gradebook(url: str) -> dict[tuple[str, str], float]:
    return {(s, cell): float(auto or 0) for s, cell, auto, *_ in gradebook_db.scores(gradebook_db.as_url(url), "toy")}


def _csv_scores(out: Path) -> dict[str, tuple[str, str]]:
    return {s: (r["status"], r["score"]) for s, r in au.read_grades_csv(out / "grades.csv").items()}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_postgres_gradebook_with_jobs_and_shards_holds_the_sqlite_grades(postgres, tmp_path):
    solutions, subs = _toy_class(tmp_path)
    common = ["--solutions", solutions, "--no-feedback", "--timeout-per-cell", "30"]

    lite = au.run_grade_cli("toy", subs, "--out", tmp_path / "sqlite", "--jobs", "2", *common)
    assert lite.returncode == 0, lite.stderr
    url = postgres.create_db("whole")
    pg = au.run_grade_cli("toy", subs, "--out", tmp_path / "pg", "--jobs", "2", "--db", url, *common)
    assert pg.returncode == 0, pg.stdout + pg.stderr
    assert "gradebook check: every total matches" in pg.stdout
    assert not (tmp_path / "pg" / "gradebook.db").exists()
    # parallel nbgrader processes wrote to PostgreSQL: nobody waited for a lock or was graded twice
    logs = "".join(p.read_text() for p in (tmp_path / "pg" / "logs").glob("*.log"))
    assert "database is locked" not in logs and "will grade again" not in pg.stdout

    expected = {"ref": ("graded", "3"), "blank": ("graded", "0"), "absolute": ("graded", "1"),
                "broken": ("invalid notebook", "0")}
    assert _csv_scores(tmp_path / "sqlite") == expected
    assert _csv_scores(tmp_path / "pg") == expected
    sqlite_book = _gradebook(str(tmp_path / "sqlite" / "gradebook.db"))
    assert len(sqlite_book) == 3 * 2  # 3 students graded by nbgrader, 2 test cells each
    assert _gradebook(url) == sqlite_book

    # two shards at once, on one machine, into one database
    shard_url = postgres.create_db("shards")
    procs: dict[int, subprocess.CompletedProcess] = {}

    def shard(i: int) -> None:
        procs[i] = au.run_grade_cli("toy", subs, "--out", tmp_path / f"shard{i}", "--db", shard_url,
                                    "--shard", f"{i}/2", *common)

    threads = [threading.Thread(target=shard, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, proc in procs.items():
        assert proc.returncode == 0, f"shard {i}: {proc.stdout}{proc.stderr}"
    halves = [set(_csv_scores(tmp_path / f"shard{i}")) for i in (1, 2)]
    assert not halves[0] & halves[1] and halves[0] | halves[1] == set(expected)
    assert _gradebook(shard_url) == sqlite_book  # the union of the shards is the unsharded run
    merged = subprocess.run([sys.executable, "-m", "autograder.gradebook_db", "merge", tmp_path / "shard1",
                             tmp_path / "shard2", "--out", tmp_path / "all"], capture_output=True, text=True,
                            cwd=au.ROOT, env=release.subprocess_env())
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert _csv_scores(tmp_path / "all") == expected
