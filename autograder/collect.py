"""Submissions straight from the learning platform: a bulk-download archive (or its extracted
folder) from Canvas, Moodle or Blackboard, student ids read from the file names, the latest
resubmission of each student, and a roster that names the students and lists who sent nothing.

    python -m autograder.grade a01 export.zip --out grades/a01 --platform canvas --roster roster.csv
    python -m autograder.grade a01 export.zip --out grades/a01 --id-pattern '(?P<student_id>[a-z]+\\d+)_'

Each platform names the files of its "download all submissions" archive its own way (one named
pattern each, :data:`PLATFORMS`); ``--id-pattern`` takes any regular expression with a group
``(?P<student_id>...)``, as nbgrader's ZipCollect does. Optional groups: ``name`` (the student's
name), ``order`` (digits that grow with each resubmission: an upload id, a timestamp), ``late``
(non-empty when the platform marked the submission late) and ``file`` (the student's own file
name). The pattern is matched (``re.match``) against each component of an entry's path, from the
top; the first component that matches names the student (Moodle's "download in folders" puts the
id in the folder name, the others in the file name).

A student's notebook is chosen among their ``.ipynb`` entries: those named like the assignment's
notebook first (ignoring a ``-N`` resubmission suffix), then the latest by (``order``, ``-N``
suffix). Every other notebook of that student is listed (``details`` in grades.csv, and
``collection.json``) and not graded. When nothing tells two notebooks apart, the student gets
status ``error`` with both names, rather than a guess.

The archive is untrusted input, like the notebooks in it. Nothing is extracted by the archive's
own paths: the one chosen notebook of each student is read into memory (at most
``max_notebook_bytes``, counted while reading, whatever the entry's header claims) and written
to ``OUT/collected/<student_id>.ipynb``, the id reduced to letters, digits, ``_`` and ``-``. Entries
with absolute paths or ``..``, symbolic links, encrypted entries, entries given twice, non-notebook
files and anything beyond the size limits are skipped and listed with the reason; an archive with
more than ``max_entries`` entries or more than ``max_total_bytes`` of notebooks is refused.
"""
from __future__ import annotations

import csv
import json
import os
import re
import stat
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Bulk-download naming schemes (matched against each path component, see the module docstring).
PLATFORMS = {
    # Canvas, Assignments > Download Submissions: one flat zip, each file renamed
    # <sortable name, lower case, letters only>[_LATE]_<Canvas user id>_<attachment id>_<file>,
    # e.g. doejane_12345_678910_a01_language_models.ipynb or doejane_LATE_12345_678911_...; a file
    # uploaded again under the same name gets Canvas's "-1", "-2" suffix (a01_language_models-1.ipynb;
    # see e.g. github.com/IIC1253/IIC1253-2025-1/issues/34). Attachment ids grow with each upload:
    # the latest resubmission has the largest.
    "canvas": r"(?P<name>[^_/]+?)(?:_(?P<late>LATE))?_(?P<student_id>\d+)_(?P<order>\d+)_(?P<file>.+)$",
    # Moodle, Assignment > View all submissions > Download all submissions: each file renamed
    # <Full Name>_<participant id>_assignsubmission_file_<file>, or with "Download submissions in
    # folders" (moodle/moodle MDL-62831, mod/assign/lang/en/assign.php 'downloadasfolders') a folder
    # <Full Name>_<participant id>_assignsubmission_file_/ holding the files under their own names.
    # Only the latest attempt is in the archive; the participant id is the "Identifier" column of
    # Moodle's grading worksheet ("Participant 123456"), which serves as the roster.
    "moodle": r"(?P<name>.+)_(?P<student_id>\d+)_assignsubmission_file_(?P<file>.*)$",
    # Blackboard Learn, Grade Centre > column > Assignment File Download: each file renamed
    # <assignment name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>, beside a text file
    # <assignment name>_<username>_attempt_<date>.txt with the submission's comments
    # (github.com/terr-steak/bb-file-cleanup, github.com/vangef/BBGradebookOrganiser). With "all
    # attempts" selected, the date orders the attempts.
    "blackboard": r"(?P<assignment>.+)_(?P<student_id>[^_/]+)_attempt_(?P<order>\d{4}(?:-\d\d){5})(?:_(?P<file>.+)|\.txt)?$",
}
SUFFIX = re.compile(r"^(?P<stem>.*?)-(?P<n>\d+)$")  # Canvas's "-1", "-2" on a file uploaded again


class CollectError(ValueError):
    """The archive or roster cannot be used at all (the message says why)."""


@dataclass
class Intake:
    """How ``make grade`` reads its submissions (the options of :mod:`autograder.grade`)."""
    platform: str | None = None             # --platform canvas|moodle|blackboard
    id_pattern: str | None = None           # --id-pattern REGEX
    roster: Path | None = None              # --roster CSV
    shard: tuple[int, int] | None = None    # --shard i/n

    def check(self, source: Path) -> None:
        """Fail early (before the course is built) on a bad pattern, roster or archive."""
        if self.platform or self.id_pattern:
            pattern_for(self.platform, self.id_pattern)
        if self.roster is not None:
            read_roster(self.roster)
        if Path(source).is_file() and not zipfile.is_zipfile(source):
            raise CollectError(f"{source} is a file but not a zip archive: give a folder of submissions "
                               f"or the platform's .zip export")


@dataclass
class Limits:
    max_entries: int = 50_000                   # entries in the archive (a bomb of empty files)
    max_notebook_bytes: int = 64 * 2**20        # one notebook, uncompressed (outputs with images)
    max_total_bytes: int = 4 * 2**30            # every notebook read, uncompressed


@dataclass
class Collected:
    """One student of the archive: the notebook to grade (None, with ``problem``, if none can be)."""
    student_id: str
    name: str = ""
    path: Path | None = None        # OUT/collected/<student_id>.ipynb
    origin: str = ""                # the archive entry graded
    problem: str = ""
    late: bool = False
    older: list[str] = field(default_factory=list)   # the student's other notebooks, not graded

    def notes(self) -> list[str]:
        """What ``details`` in grades.csv says about the collection of this student."""
        out = []
        if self.late:
            out.append("marked late by the platform")
        if self.older:
            out.append(f"graded the latest of {len(self.older) + 1} notebooks; not graded: {', '.join(self.older)}")
        return out


@dataclass
class Collection:
    students: list[Collected]
    skipped: list[str] = field(default_factory=list)   # "<entry>: why", for entries not used
    platform: str | None = None                         # the naming scheme used (None: --id-pattern)


def sanitize(name: str) -> str:
    """Letters, digits, ``_`` and ``-`` (as :func:`autograder.grade.sanitize_student_id`)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-")
    return cleaned or "student"


def pattern_for(platform: str | None, id_pattern: str | None) -> re.Pattern:
    if id_pattern:
        try:
            rx = re.compile(id_pattern)
        except re.error as e:
            raise CollectError(f"--id-pattern is not a valid regular expression: {e}") from None
        if "student_id" not in rx.groupindex:
            raise CollectError("--id-pattern needs a named group (?P<student_id>...)")
        return rx
    if platform not in PLATFORMS:
        raise CollectError(f"unknown platform {platform!r}; known: {', '.join(PLATFORMS)} (or give --id-pattern)")
    return re.compile(PLATFORMS[platform])


# ----------------------------------------------------------------------------- reading entries

@dataclass
class _Entry:
    path: str                       # inside the archive, '/'-separated
    size: int                       # as the archive claims
    problem: str = ""               # why it cannot be used at all
    source: object = None           # ZipInfo or a file Path


def _entry_problem(name: str) -> str:
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path (not extracted)"
    if any(part == ".." for part in name.split("/")):
        return "path leads outside the archive (..) (not extracted)"
    return ""


def _zip_entries(zf: zipfile.ZipFile, limits: Limits) -> list[_Entry]:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise CollectError(f"the archive holds {len(infos)} entries, more than {limits.max_entries}: refused")
    entries = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        if info.is_dir():
            continue
        problem = _entry_problem(name)
        mode = info.external_attr >> 16
        if not problem and stat.S_ISLNK(mode):
            problem = "symbolic link (not followed)"
        elif not problem and info.flag_bits & 0x1:
            problem = "encrypted entry"
        entries.append(_Entry(name, info.file_size, problem, info))
    return entries


def _folder_entries(folder: Path, limits: Limits) -> list[_Entry]:
    entries = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                entries.append(_Entry(rel, 0, "symbolic link (not followed)", path))
            elif path.is_file():
                entries.append(_Entry(rel, path.stat().st_size, "", path))
            if len(entries) > limits.max_entries:
                raise CollectError(f"{folder} holds more than {limits.max_entries} files: refused")
    return entries


class _Reader:
    """Reads entries, counting every byte against the limits (headers can lie)."""

    def __init__(self, zf: zipfile.ZipFile | None, limits: Limits) -> None:
        self.zf, self.limits, self.total = zf, limits, 0

    def read(self, entry: _Entry) -> bytes:
        cap = self.limits.max_notebook_bytes
        if entry.size > cap:
            raise ValueError(f"larger than {cap // 2**20} MiB ({entry.size} bytes)")
        with (self.zf.open(entry.source) if self.zf else open(entry.source, "rb")) as f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise ValueError(f"larger than {cap // 2**20} MiB once uncompressed")
        self.total += len(data)
        if self.total > self.limits.max_total_bytes:
            raise CollectError(f"the archive's notebooks exceed {self.limits.max_total_bytes // 2**20} MiB "
                               f"uncompressed: refused")
        return data


# ----------------------------------------------------------------------------- collecting

@dataclass
class _Candidate:
    entry: _Entry
    raw_id: str
    name: str
    file: str                      # the student's own file name
    order: int
    suffix: int
    late: bool


def _match(rx: re.Pattern, path: str) -> tuple[re.Match, str] | None:
    """The first path component ``rx`` matches, and the student's own file name."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        m = rx.match(part)
        if m:
            own = m.groupdict().get("file") if i == len(parts) - 1 else None
            return m, own or parts[-1]
    return None


def collect(source: Path, notebook_name: str, dest: Path, *, platform: str | None = None,
            id_pattern: str | None = None, limits: Limits | None = None) -> Collection:
    """Read the platform export ``source`` (a ``.zip`` or a folder) and write each student's
    chosen notebook to ``dest/<student_id>.ipynb``. Raises :class:`CollectError` when the archive
    cannot be used at all."""
    limits = limits or Limits()
    source = Path(source)
    zf = None
    if source.is_file():
        try:
            zf = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as e:
            raise CollectError(f"{source} is not a readable zip archive ({e})") from None
    try:
        entries = _zip_entries(zf, limits) if zf else _folder_entries(source, limits)
        if platform is None and id_pattern is None:
            platform = detect_platform(entries)
        rx = re.compile(PLAIN) if platform == "plain" else pattern_for(platform, id_pattern)
        collection = _collect_entries(entries, _Reader(zf, limits), rx, notebook_name, dest, source)
        collection.platform = platform if not id_pattern else None
        return collection
    finally:
        if zf is not None:
            zf.close()


# An archive of <student>.ipynb files or <student>/ folders (the layout of a submissions folder).
PLAIN = r"(?P<student_id>[^/]+?)(?:\.ipynb)?$"


def detect_platform(entries: list[_Entry]) -> str:
    """The platform whose naming scheme matches the most notebooks of the archive; ``plain``
    (``<student>.ipynb`` files, ``<student>/`` folders) when none matches any."""
    notebooks = [e.path for e in entries if e.path.lower().endswith(".ipynb") and not e.problem]
    counts = {p: sum(_match(re.compile(rx), path) is not None for path in notebooks) for p, rx in PLATFORMS.items()}
    best = max(counts, key=lambda p: counts[p])
    return best if counts[best] else "plain"


def _collect_entries(entries: list[_Entry], reader: _Reader, rx: re.Pattern, notebook_name: str,
                     dest: Path, source: Path) -> Collection:
    skipped: list[str] = []
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.path] = counts.get(e.path, 0) + 1
    by_student: dict[str, list[_Candidate]] = {}
    names: dict[str, str] = {}
    duplicated: dict[str, list[str]] = {}
    for e in entries:
        if e.problem:
            skipped.append(f"{e.path}: {e.problem}")
            continue
        if any(p.startswith(".") or p == "__MACOSX" for p in e.path.split("/")):
            continue  # macOS resource forks, .DS_Store, checkpoints: never submissions
        found = _match(rx, e.path)
        if found is None:
            skipped.append(f"{e.path}: the name does not match the platform's pattern (no student id)")
            continue
        m, own = found
        groups = m.groupdict()
        raw_id = groups["student_id"]
        if not raw_id:
            skipped.append(f"{e.path}: empty student id")
            continue
        if groups.get("name"):
            names.setdefault(raw_id, groups["name"].strip())
        if not own.lower().endswith(".ipynb"):
            skipped.append(f"{e.path}: not a notebook (.ipynb)")
            by_student.setdefault(raw_id, [])
            continue
        if counts[e.path] > 1:
            duplicated.setdefault(raw_id, []).append(e.path)
            continue
        stem = own[:-len(".ipynb")]
        suffix = SUFFIX.match(stem)
        order = re.sub(r"\D", "", groups.get("order") or "")
        by_student.setdefault(raw_id, []).append(_Candidate(
            e, raw_id, groups.get("name") or "", own, int(order) if order else -1,
            int(suffix.group("n")) if suffix else 0, bool(groups.get("late"))))

    dest.mkdir(parents=True, exist_ok=True)
    taken: dict[str, str] = {}
    students = []
    for raw_id in sorted(set(by_student) | set(duplicated)):
        sid, k = sanitize(raw_id), 2
        base = sid
        while sid in taken.values():
            sid, k = f"{base}_{k}", k + 1
        taken[raw_id] = sid
        student = Collected(sid, names.get(raw_id, ""))
        students.append(student)
        if raw_id in duplicated:
            student.problem = (f"the archive holds {', '.join(sorted(set(duplicated[raw_id])))} more than once; "
                               f"cannot tell which is the submission")
            continue
        chosen = _choose(by_student[raw_id], notebook_name, student)
        if chosen is None:
            continue
        student.origin = f"{source.name}:{chosen.entry.path}"
        student.late = chosen.late
        try:
            data = reader.read(chosen.entry)
        except CollectError:
            raise  # the whole archive is refused
        except ValueError as e:
            student.problem = f"{chosen.entry.path}: {e}"
            continue
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as e:  # a corrupt entry
            student.problem = f"{chosen.entry.path}: cannot be read from the archive ({e})"
            continue
        path = dest / f"{sid}.ipynb"
        if path.resolve().parent != dest.resolve():  # cannot happen with a sanitised id; be sure
            raise CollectError(f"refusing to write outside {dest}: {path}")
        path.write_bytes(data)
        student.path = path
    return Collection(students, skipped)


def _choose(cands: list[_Candidate], notebook_name: str, student: Collected) -> _Candidate | None:
    """The notebook to grade among one student's, or None (with ``student.problem`` set)."""
    if not cands:
        student.problem = "no .ipynb file among the student's files in the archive"
        return None
    wanted = notebook_name[:-len(".ipynb")]

    def plain(c: _Candidate) -> str:
        stem = c.file[:-len(".ipynb")]
        m = SUFFIX.match(stem)
        return m.group("stem") if m else stem

    named = [c for c in cands if plain(c) == wanted or c.file[:-len(".ipynb")] == wanted]
    pool = named or cands
    pool = sorted(pool, key=lambda c: (c.order, c.suffix))
    best = pool[-1]
    if len(pool) > 1 and (pool[-2].order, pool[-2].suffix) == (best.order, best.suffix):
        ties = [c.entry.path for c in pool if (c.order, c.suffix) == (best.order, best.suffix)]
        student.problem = (f"several notebooks and nothing says which is the latest, none named "
                           f"{notebook_name}: {', '.join(ties)}")
        return None
    student.older = [c.entry.path for c in cands if c is not best]
    return best


# ----------------------------------------------------------------------------- the roster

ID_COLUMNS = ("student_id", "identifier", "username", "id", "user_id", "login", "sis login id")
NAME_COLUMNS = ("name", "full name", "fullname", "student")


def read_roster(path: Path) -> dict[str, str]:
    """student id -> name from a CSV with a header: the id from the first column named one of
    :data:`ID_COLUMNS` (Moodle's grading worksheet "Identifier": "Participant 123456"; Canvas's
    gradebook export "ID"; Blackboard's Grade Centre "Username"), the name from one of
    :data:`NAME_COLUMNS` or "First Name" + "Last Name". Ids are sanitised as student ids are."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise CollectError(f"cannot read the roster {path}: {e}") from None
    lower = {h.strip().lower(): h for h in header if h}
    id_col = next((lower[c] for c in ID_COLUMNS if c in lower), None)
    if id_col is None:
        raise CollectError(f"the roster {path} has no id column (one of {', '.join(ID_COLUMNS)}); "
                           f"its columns: {', '.join(header)}")
    name_col = next((lower[c] for c in NAME_COLUMNS if c in lower), None)
    first, last = lower.get("first name"), lower.get("last name")
    roster: dict[str, str] = {}
    for row in rows:
        raw = (row.get(id_col) or "").strip()
        raw = re.sub(r"^participant\s*", "", raw, flags=re.I)
        if not raw:
            continue  # e.g. Canvas's "Points Possible" row
        if name_col:
            name = (row.get(name_col) or "").strip()
        else:
            name = " ".join(x for x in ((row.get(first) or "").strip() if first else "",
                                        (row.get(last) or "").strip() if last else "") if x)
        roster[sanitize(raw)] = name
    if not roster:
        raise CollectError(f"the roster {path} lists no student")
    return roster


# ----------------------------------------------------------------------------- the record

def write_record(path: Path, *, assignment: str, source: Path, platform: str | None, id_pattern: str | None,
                 shard: tuple[int, int] | None, everyone: list[str], here: list[str], missing: list[str],
                 not_on_roster: list[str], collection: Collection | None) -> None:
    """``collection.json``: what was collected and which part of it this run graded (the shards'
    merge checks it: :func:`autograder.gradebook_db.merge`)."""
    record = {
        "assignment": assignment, "source": str(source),
        "platform": collection.platform if collection else platform, "id_pattern": id_pattern,
        "shard": list(shard) if shard else None, "everyone": sorted(everyone), "graded_here": sorted(here),
        "missing": sorted(missing), "not_on_roster": sorted(not_on_roster),
        "students": [asdict(s) | {"path": str(s.path) if s.path else None} for s in collection.students]
        if collection else [],
        "skipped": collection.skipped if collection else [],
    }
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def is_export(source: Path, platform: str | None, id_pattern: str | None) -> bool:
    """Whether ``source`` is read as a platform export (an archive, or a folder with a naming
    scheme) rather than a folder of ``<student>.ipynb`` files and ``<student>/`` folders."""
    return Path(source).is_file() or bool(platform or id_pattern)


def hide_for(source: Path) -> list[Path]:
    """What the grading sandbox must hide besides the submissions folder: for an archive, the
    folder holding it (every student's work is in it), unless that folder holds what the kernel
    needs (this repository, the Python installation); then nothing can be hidden this way, and
    the caller should say so."""
    import sys
    source = Path(source).resolve()
    if not source.is_file():
        return []
    folder = source.parent
    needed = [Path(__file__).resolve().parents[1], Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    if any(n == folder or folder in n.parents for n in needed):
        return []
    return [folder]
