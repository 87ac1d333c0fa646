"""The gradebook a grading run writes to: the run's own SQLite file (the default) or a shared
PostgreSQL database (``--db postgresql://...``), and the shards that grade one class into it.

nbgrader's FAQ says SQLite is unsafe when several graders write to one gradebook at once (one
writer at a time: parallel writers get "database is locked"). A course with several teaching
assistants, or a class graded by many machines at once (``--shard i/n``), shares one PostgreSQL
database instead::

    python -m autograder.grade a01 export.zip --out shard1 --db postgresql://grader@db/course --shard 1/2
    python -m autograder.grade a01 export.zip --out shard2 --db postgresql://grader@db/course --shard 2/2
    python -m autograder.gradebook_db merge shard1 shard2 --out a01_all

Each grading folder records its gradebook URL (:func:`record_url`), so every step that runs
nbgrader finds it with :func:`url_for`: ``nbgrader_command(..., url_for(out_dir), ...)``. A shard's
``grades.csv`` holds only its own students; ``merge`` checks that the shards are the n parts of
one collection, writes the whole class's ``grades.csv``, and checks it against the gradebook.

Reading the gradebook (:func:`schema`, :func:`scores`) works the same for both databases, with
SQLAlchemy (which nbgrader uses too): SQLite read-only, PostgreSQL through psycopg2.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit, parse_qs

URL_FILE = ".gradebook-url"      # in a grading folder: the gradebook URL when it is not the default
SQLITE_NAME = "gradebook.db"     # the default gradebook, inside the grading folder
COLLECTION_FILE = "collection.json"  # written by autograder.collect: who was collected, which shard


class GradebookError(ValueError):
    """A gradebook URL or shard specification that cannot be used (the message says why)."""


# ----------------------------------------------------------------------------- URLs

def default_url(out_dir: Path) -> str:
    return f"sqlite:///{Path(out_dir) / SQLITE_NAME}"


def normalize_url(url: str) -> str:
    """``url`` as nbgrader and SQLAlchemy take it (``postgresql+psycopg2://...``); raises
    :class:`GradebookError` for anything but ``sqlite:///path`` and ``postgresql://...``
    (``postgres://`` is accepted, as Heroku and many hosts write it)."""
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgres", "postgresql"):
        # SQLAlchemy 2.1 (nbgrader's engine too) reads a bare postgresql:// as psycopg 3, which
        # is not installed: name psycopg2, the driver requirements.txt installs
        url, scheme = "postgresql+psycopg2" + url[len(scheme):], "postgresql+psycopg2"
    if scheme == "postgresql+psycopg2":
        if not urlsplit(url).path.strip("/"):
            raise GradebookError(f"the PostgreSQL URL {redact(url)} names no database "
                                 f"(postgresql://USER@HOST[:PORT]/DATABASE)")
        return url
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or url == "sqlite:///":
            raise GradebookError(f"a SQLite gradebook URL is sqlite:///PATH (got {url!r})")
        return url
    raise GradebookError(f"unsupported gradebook URL {redact(url)!r}: use postgresql://USER@HOST/DATABASE "
                         f"(several graders, --shard) or sqlite:///PATH")


def as_url(db: Path | str) -> str:
    """A gradebook given as a SQLite file path or as a URL, as a URL."""
    if isinstance(db, str) and "://" in db:
        return normalize_url(db)
    return f"sqlite:///{db}"


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite:///"):].split("?", 1)[0])


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for logs and messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def record_url(out_dir: Path, url: str | None) -> str:
    """Remember the gradebook of the grading folder ``out_dir`` (None: its own SQLite file) and
    return its URL. Only the instructor can read the record (it may hold a password); the
    sandboxed kernels never see the grading folder."""
    if url is None:
        return default_url(out_dir)
    url = normalize_url(url)
    path = Path(out_dir) / URL_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(url + "\n")
    return url


def url_for(out_dir: Path) -> str:
    """The gradebook URL of the grading folder ``out_dir``: what every nbgrader command run for
    it must get as ``--CourseDirectory.db_url``."""
    path = Path(out_dir) / URL_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return default_url(out_dir)


def is_shared(url: str, out_dir: Path) -> bool:
    """Whether the gradebook may hold students this run did not grade (anything but the run's
    own fresh SQLite file): the gradebook check then looks at this run's students only."""
    return url != default_url(out_dir)


def socket_dirs(url: str) -> list[Path]:
    """Folders holding the Unix socket a PostgreSQL URL connects through: the sandbox hides
    them, so a student's kernel cannot reach the gradebook server (it has no network either)."""
    if not is_postgres(url):
        return []
    parts = urlsplit(url)
    hosts = parse_qs(parts.query).get("host", []) + ([parts.hostname] if parts.hostname else [])
    dirs = [Path(h) for h in hosts if h.startswith("/")]
    if not parts.hostname and not hosts:  # libpq's default: the server's socket folder
        dirs += [Path("/var/run/postgresql"), Path("/run/postgresql")]
    return [d for d in dirs if d.is_dir()]


# ----------------------------------------------------------------------------- reading

def engine(url: str):
    """A SQLAlchemy engine that reads the gradebook (SQLite: read-only, so a check never creates
    or changes the file)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    if is_postgres(url):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise GradebookError("a PostgreSQL gradebook needs psycopg2 (pip install psycopg2-binary; "
                                 "it is in requirements.txt)") from None
        return create_engine(normalize_url(url), poolclass=NullPool)
    return create_engine(f"sqlite:///file:{sqlite_path(url)}?mode=ro&uri=true", poolclass=NullPool)


@contextlib.contextmanager
def connection(url: str):
    eng = engine(url)
    try:
        with eng.connect() as conn:
            yield conn
    finally:
        eng.dispose()


SQLITE_SCHEMA = "SELECT type, name, sql FROM sqlite_master"

# Everything in the database's own schemas that could change what a score query returns: tables
# (with their columns and row-level security), views, indexes, triggers, rules, policies,
# functions, and the database-wide event triggers.
_USER = "NOT IN ('pg_catalog', 'information_schema') AND {col} NOT LIKE 'pg_toast%' AND {col} NOT LIKE 'pg_temp%'"
POSTGRES_SCHEMA = [
    f"""SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                              WHEN 'f' THEN 'foreign table' ELSE 'table' END,
               n.nspname || '.' || c.relname,
               string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                          || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY a.attnum)
               || CASE WHEN c.relrowsecurity THEN ' [row security]' ELSE '' END
               || COALESCE(' AS ' || pg_get_viewdef(c.oid), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname {_USER.format(col='n.nspname')}
        GROUP BY c.oid, c.relkind, n.nspname, c.relname, c.relrowsecurity""",
    f"SELECT 'index', schemaname || '.' || indexname, indexdef FROM pg_indexes "
    f"WHERE schemaname {_USER.format(col='schemaname')}",
    f"""SELECT 'trigger', n.nspname || '.' || c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname {_USER.format(col='n.nspname')}""",
    f"SELECT 'rule', schemaname || '.' || tablename || '.' || rulename, definition FROM pg_rules "
    f"WHERE schemaname {_USER.format(col='schemaname')}",
    f"SELECT 'policy', schemaname || '.' || tablename || '.' || policyname, "
    f"cmd || ' ' || COALESCE(qual, '') || ' ' || COALESCE(with_check, '') FROM pg_policies "
    f"WHERE schemaname {_USER.format(col='schemaname')}",
    f"""SELECT 'function', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p', 'w') AND n.nspname {_USER.format(col='n.nspname')}""",
    "SELECT 'event trigger', evtname, evtevent || ' ' || evtfoid::regproc::text FROM pg_event_trigger",
]


def schema(url: str) -> set[tuple[str, str, str]]:
    """Every object of the gradebook that could change what it reports: (kind, name, definition)."""
    from sqlalchemy import text

    with connection(url) as conn:
        if not is_postgres(url):
            return {(t, n, sql or "") for t, n, sql in conn.execute(text(SQLITE_SCHEMA))}
        found: set[tuple[str, str, str]] = set()
        for query in POSTGRES_SCHEMA:
            found |= {(k, n, d or "") for k, n, d in conn.execute(text(query))}
        return found


SCORES = """
SELECT sa.student_id, bc.name, g.auto_score, g.manual_score, g.extra_credit, sn.late_submission_penalty
FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN assignment a ON sa.assignment_id = a.id
JOIN base_cell bc ON g.cell_id = bc.id
WHERE a.name = :assignment"""


def scores(url: str, assignment: str) -> list[tuple]:
    """(student, cell, auto, manual, extra credit, late penalty) of every grade of ``assignment``."""
    from sqlalchemy import text

    with connection(url) as conn:
        return [tuple(row) for row in conn.execute(text(SCORES), {"assignment": assignment})]


@contextlib.contextmanager
def exclusive(url: str, name: str):
    """Hold a lock named ``name`` for the whole block, across every machine that uses the same
    PostgreSQL gradebook (a session advisory lock); nothing for SQLite. Shards that start together
    generate the assignment into the gradebook one after the other, not at once (nbgrader creates
    its tables and cells without expecting a concurrent writer)."""
    if not is_postgres(url):
        yield
        return
    from sqlalchemy import text

    key = int.from_bytes(hashlib.sha1(f"seqlab-grade:{name}".encode()).digest()[:8], "big", signed=True)
    with connection(url) as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


# ----------------------------------------------------------------------------- shards

def parse_shard(spec: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n), 1 <= i <= n: shard i of n (``--shard 1/4`` ... ``--shard 4/4``)."""
    try:
        i, n = (int(x) for x in spec.strip().split("/"))
    except ValueError:
        raise GradebookError(f"--shard takes i/n, e.g. 1/4 (got {spec!r})") from None
    if not (n >= 1 and 1 <= i <= n):
        raise GradebookError(f"--shard {spec}: i must be between 1 and n (shards are numbered from 1)")
    return i, n


def shard_of(ids: list[str], i: int, n: int) -> list[str]:
    """Shard ``i`` of ``n`` of the sorted ``ids``: every n-th, starting at the i-th. Every machine
    given the same submissions (and roster) computes the same split."""
    return sorted(ids)[i - 1::n]


# ----------------------------------------------------------------------------- merging shards

def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def merge(shard_dirs: list[Path], out_dir: Path, db: str | None = None) -> list[str]:
    """Write ``out_dir/grades.csv`` for the whole class from the grading folders of the n shards
    of one collection; return what is wrong (an empty list when the shards are complete and
    ``db``, if given, holds the same totals). Raises :class:`GradebookError` when the folders are
    not the n shards of one collection (a shard missing or given twice, different archives)."""
    infos, headers, rows = [], [], []
    for folder in shard_dirs:
        folder = Path(folder)
        try:
            infos.append(json.loads((folder / COLLECTION_FILE).read_text(encoding="utf-8")))
            header, shard_rows = _read_csv(folder / "grades.csv")
        except (OSError, ValueError) as e:
            raise GradebookError(f"{folder} is not a finished grading folder ({e})") from None
        headers.append(header)
        rows.append(shard_rows)
    first = infos[0]
    for folder, info, header in zip(shard_dirs, infos, headers):
        if info.get("assignment") != first.get("assignment"):
            raise GradebookError(f"{folder} graded {info.get('assignment')}, {shard_dirs[0]} graded "
                                 f"{first.get('assignment')}")
        if info.get("everyone") != first.get("everyone"):
            raise GradebookError(f"{folder} and {shard_dirs[0]} collected different classes (different "
                                 f"archives or rosters): shards must be given the same submissions")
        if header != headers[0]:
            raise GradebookError(f"{folder}/grades.csv has other columns than {shard_dirs[0]}/grades.csv")
    shards = [tuple(info.get("shard") or (1, 1)) for info in infos]
    if sorted(shards) != [(i, len(shards)) for i in range(1, len(shards) + 1)]:
        listed = ", ".join(f"{i}/{n}" for i, n in shards)
        raise GradebookError(f"the folders hold shards {listed}: give every shard 1/n ... n/n exactly once")
    merged: dict[str, dict[str, str]] = {}
    for shard_rows in rows:
        for row in shard_rows:
            if row["student_id"] in merged:
                raise GradebookError(f"student {row['student_id']} was graded by two shards")
            merged[row["student_id"]] = row
    everyone = set(first.get("everyone", []))
    problems = []
    if missing := sorted(everyone - set(merged)):
        problems.append(f"{len(missing)} collected student(s) have no row in any shard's grades.csv "
                        f"(a shard did not finish?): {', '.join(missing)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=headers[0])
        writer.writeheader()
        for sid in sorted(merged):
            writer.writerow(merged[sid])
    url = normalize_url(db) if db else url_for(Path(shard_dirs[0]))
    if is_postgres(url) or db:
        problems += check_totals(url, first["assignment"], {s: float(r["score"]) for s, r in merged.items()})
    return problems


def check_totals(url: str, assignment: str, csv_scores: dict[str, float]) -> list[str]:
    """Differences between the gradebook's totals for ``assignment`` and ``csv_scores``, and
    scores in the gradebook that nobody entered, over every student of either."""
    totals: dict[str, float] = {}
    manual: dict[str, set[str]] = {}
    for student, cell, auto, man, extra, penalty in scores(url, assignment):
        if man is not None or extra is not None or penalty:
            manual.setdefault(student, set()).add(cell)
        totals[student] = totals.get(student, 0.0) + float((man if man is not None else auto) or 0) + float(extra or 0)
    problems = []
    if manual:
        problems.append(f"manual scores, extra credit or late penalties in the gradebook for {len(manual)} "
                        f"student(s): " + "; ".join(f"{s} ({', '.join(sorted(c))})" for s, c in sorted(manual.items())))
    differ = [f"{s} (gradebook {totals.get(s, 0.0):g}, grades.csv {csv_scores.get(s, 0.0):g})"
              for s in sorted(set(totals) | set(csv_scores))
              if abs(totals.get(s, 0.0) - csv_scores.get(s, 0.0)) > 1e-9 or s not in csv_scores]
    if differ:
        problems.append(f"gradebook totals differ from grades.csv for {len(differ)} student(s): " + "; ".join(differ))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.gradebook_db",
        description="Merge the grading folders of the shards of one class (--shard 1/n ... n/n) into "
                    "one grades.csv, and check it against the shared gradebook.")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="OUT/grades.csv for the whole class from the shards' grading folders")
    m.add_argument("shards", type=Path, nargs="+", help="the grading folders (--out) of shards 1/n ... n/n")
    m.add_argument("--out", type=Path, required=True, help="folder for the whole class's grades.csv")
    m.add_argument("--db", help="gradebook URL to check against (default: the one the shards used)")
    args = parser.parse_args(argv)
    try:
        problems = merge(args.shards, args.out, args.db)
    except GradebookError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"grades: {args.out / 'grades.csv'}")
    if problems:
        print("MERGE CHECK FAILED:\n" + "\n".join(f"- {p}" for p in problems), file=sys.stderr)
        return 3
    print("merge check: every collected student has one row, and the gradebook holds the same totals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
