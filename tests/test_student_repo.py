"""``make student-repo``: the public student repository holds the book, the released exercises and
``seqlab``, no solution, hidden check or mutant, and its book configuration, Colab links and
install lines point at its own URL."""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder import student_repo

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/example-teacher/seqmodels-for-students"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "public"
    proc = subprocess.run([sys.executable, "-m", "autograder.student_repo", str(out), "--url", URL],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no leak found" in proc.stdout
    return out


def _files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and ".git" not in p.relative_to(out).parts)


def _code(path: Path) -> str:
    """A file's code with whitespace squeezed (a notebook: its cells' sources)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _squeezed(block: str) -> str:
    return "\n".join(" ".join(line.split()) for line in block.splitlines() if line.strip() and not line.strip().startswith("#"))


def test_it_holds_the_book_the_exercises_and_seqlab_and_nothing_private(repo):
    top = {p.name for p in repo.iterdir()}
    assert top == {".gitignore", student_repo.MARKER, "Makefile", "README.md", "_config.yml", "_ext", "_toc.yml",
                   "chapters", "exercises", "glossary.md", "intro.md", "pyproject.toml", "requirements.txt", "seqlab"}
    for folder in ("chapters", "exercises", "seqlab"):
        tracked = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True).stdout.split()
        assert sorted(tracked) == sorted(str(p.relative_to(repo)) for p in (repo / folder).rglob("*") if p.is_file())
    assert not any(part in ("solutions", "autograder", "mutants", "tests", "__pycache__")
                   for p in _files(repo) for part in p.relative_to(repo).parts)
    # the exercises are the releases, with only the URL changed
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        mine = (repo / path.relative_to(ROOT)).read_text(encoding="utf-8")
        assert mine == path.read_text(encoding="utf-8").replace(student_repo.repository_url(), URL)


def test_no_solution_and_no_hidden_check_code_anywhere(repo):
    """Independently of the tool's own scan: no whole reference solution, hidden-test block,
    hidden-check function or mutant (whitespace squeezed) appears in any file, and no file names
    nbgrader's markers or imports autograder."""
    private = []
    for nb_path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            private += re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
            private += re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
    modules = sorted((ROOT / "autograder").glob("a[0-9][0-9]_*.py")) + sorted((ROOT / "autograder" / "mutants").glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        private += ["\n".join(lines[n.lineno - 1:n.end_lineno]) for n in ast.parse(text).body
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    private = [s for s in map(_squeezed, private) if len(s) >= 30]
    assert len(private) > 100
    texts = {p: _code(p) for p in _files(repo) if p.suffix in (".py", ".ipynb", ".md", ".yml", ".toml", ".txt", "")}
    for path, text in texts.items():
        found = [s.splitlines()[0] for s in private if s in text]
        assert not found, f"{path.relative_to(repo)} holds private code starting: {found[:3]}"
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, path
        assert not re.search(r"^\s*(import|from) autograder\b", text, re.M), path
    assert student_repo.find_leaks(repo) == []


def test_the_leak_scan_finds_planted_leaks(repo, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(repo, leaky)
    source = nbformat.read(ROOT / "solutions" / "a03_gradients" / "a03_gradients.ipynb", as_version=4)
    answer = next(c.source for c in source.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                  and "### BEGIN SOLUTION" in c.source and c.source.count("\n") > 8)
    body = answer.split("### BEGIN SOLUTION\n", 1)[1].split("### END SOLUTION", 1)[0]
    chapter = leaky / "chapters" / "03_gradients.ipynb"
    nb = nbformat.read(chapter, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("# a 'hint'\n" + body))
    nbformat.write(nb, chapter)
    hidden = (ROOT / "autograder" / "a05_embeddings.py").read_text(encoding="utf-8")
    (leaky / "seqlab" / "extra.py").write_text("\n".join(hidden.splitlines()[40:80]), encoding="utf-8")
    (leaky / "seqlab" / "cheat.py").write_text("from autograder import a01_language_models\n", encoding="utf-8")
    (leaky / "solutions").mkdir()
    leaks = student_repo.find_leaks(leaky)
    assert any(l.startswith("chapters/03_gradients.ipynb") and "reference solution of a03_gradients" in l for l in leaks), leaks
    assert any(l.startswith("seqlab/extra.py") and "autograder/a05_embeddings.py" in l for l in leaks), leaks
    assert any(l.startswith("seqlab/cheat.py") and "imports autograder" in l for l in leaks), leaks
    assert any(l.startswith("solutions/") for l in leaks), leaks
    assert not any(l.startswith(("chapters/01", "exercises/", "intro.md")) for l in leaks), leaks


def test_colab_links_install_lines_and_book_config_name_its_own_url(repo):
    config = yaml.safe_load((repo / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == URL and config["repository"]["branch"] == "main"
    assert config["launch_buttons"]["colab_url"] and config["html"]["use_repository_button"]
    private = student_repo.repository_url()
    for path in _files(repo):
        if path.suffix not in (".png", ".jpg"):
            assert private not in path.read_text(encoding="utf-8", errors="replace"), path
    notebooks = sorted(repo.glob("chapters/*.ipynb")) + sorted(repo.glob("exercises/*/*.ipynb"))
    assert len(notebooks) == 14
    for path in notebooks:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert f'"seqlab @ git+{URL}"' in first.source, path
    # every page of the table of contents is there; the Sphinx extension folder too
    toc = yaml.safe_load((repo / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for page in pages:
        assert (repo / f"{page}.ipynb").is_file() or (repo / f"{page}.md").is_file(), page
    ext = config["sphinx"]["local_extensions"]
    assert all((repo / folder / f"{name}.py").is_file() for name, folder in ext.items())


@pytest.mark.slow
def test_jupyter_book_accepts_its_configuration(repo):
    """jupyter-book writes Sphinx's conf.py from it, with the student URL (8 s; the whole book
    is not built here: `make book` in the student repository builds it)."""
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "config", "sphinx", str(repo)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    conf = (repo / "conf.py").read_text(encoding="utf-8")
    (repo / "conf.py").unlink()
    assert f"'repository_url': '{URL}'" in conf and "book_fixes" in conf


def test_its_own_makefile_readme_and_packaging(repo):
    makefile = (repo / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^book: venv\n\t.*jupyter-book build \. --warningiserror", makefile, re.M)
    assert "autograder" not in makefile and "grade" not in makefile
    dry = subprocess.run(["make", "-n", "book"], cwd=repo, capture_output=True, text=True)
    assert dry.returncode == 0 and "jupyter-book build ." in dry.stdout, dry.stderr
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert f"git clone {URL}" in readme and "make book" in readme
    assert not re.search(r"make (grade|release|test)\b|solutions/", readme)
    requirements = (repo / "requirements.txt").read_text(encoding="utf-8")
    assert "jupyter-book" in requirements and "torch" in requirements and "gensim" in requirements
    assert not re.search(r"^(nbgrader|pytest|playwright|psycopg2)", requirements, re.M)
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["setuptools"]["packages"] == ["seqlab"] and "pytest" not in project["tool"]
    assert project["project"]["readme"] == "README.md"
    intro = (repo / "intro.md").read_text(encoding="utf-8")
    assert "make grade" not in intro and "make release" not in intro and "## Exercises and grading" in intro


def test_it_rewrites_its_own_output_but_nothing_else(repo, tmp_path):
    again = tmp_path / "clone"
    (again / ".git").mkdir(parents=True)
    (again / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    student_repo.write_student_repo(again, URL)
    (again / "chapters" / "stale.ipynb").write_text("{}")
    student_repo.write_student_repo(again, URL + "/")  # an update: .git kept, stale files gone
    assert (again / ".git" / "HEAD").is_file() and not (again / "chapters" / "stale.ipynb").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    with pytest.raises(student_repo.StudentRepoError, match="was not written by make student-repo"):
        student_repo.write_student_repo(foreign, URL)
    assert (foreign / "notes.txt").read_text() == "keep"
    with pytest.raises(student_repo.StudentRepoError, match="outside the course repository"):
        student_repo.write_student_repo(ROOT / "student_out", URL)
    with pytest.raises(student_repo.StudentRepoError, match="own URL"):
        student_repo.write_student_repo(tmp_path / "same", student_repo.repository_url())
    bad = subprocess.run([sys.executable, "-m", "autograder.student_repo", str(tmp_path / "x"), "--url", "not a url"],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "not a repository URL" in bad.stderr


def test_make_student_repo_runs_the_tool(tmp_path):
    dry = subprocess.run(["make", "-n", "student-repo", f"OUT={tmp_path / 'o'}", f"STUDENT_REPO_URL={URL}"],
                         cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert f"-m autograder.student_repo \"{tmp_path / 'o'}\" --url \"{URL}\"" in dry.stdout
    missing = subprocess.run(["make", "-n", "student-repo", f"OUT={tmp_path / 'o'}"], cwd=ROOT, capture_output=True,
                             text=True)
    assert missing.returncode != 0 and "STUDENT_REPO_URL" in missing.stdout + missing.stderr
