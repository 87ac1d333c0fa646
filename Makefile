# Sequence Models: from n-grams to Transformers
#   make book   build the executed HTML book into _build/html
#   make test   run the whole test suite
# Both create .venv and install requirements.txt on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is installed first and on its own: a CPU build is plenty for this course, and pinning it
# here (not in requirements.txt) keeps requirements.txt's range wide enough for Colab.
TORCH_SPEC ?= torch==2.13.0
export PATH := $(abspath $(BIN)):$(PATH)

ASSIGNMENTS := $(notdir $(wildcard solutions/a[0-9][0-9]_*))

.PHONY: help venv book test test-fast release grade bench clean student-repo

help:
	@echo "make book                                       build the executed HTML book (_build/html)"
	@echo "make test                                       run every test (book build, notebooks, grading)"
	@echo "make release                                    regenerate exercises/ from solutions/"
	@echo "make grade ASSIGNMENT=a01 SUBMISSIONS=dir|export.zip [OUT=grades/a01] [DB=postgresql://...] [SHARD=1/4] [GRADE_ARGS='--jobs 2']  autograde a folder or a Canvas/Moodle/Blackboard export (sandboxed; GRADE_ARGS=--no-sandbox gives that up)"
	@echo "make bench                                      measure chapter and grading times into bench/results.md"
	@echo "make student-repo OUT=dir STUDENT_REPO_URL=url   write the public student repository (book, exercises, seqlab; no solutions, hidden checks or mutants)"

venv: $(VENV)/.installed

# rfc3987-syntax comes with jupyter-events (jsonschema[format-nongpl]) and compiles 38 Lark grammars
# whenever jsonschema is imported: 2-4 s of CPU in every process that imports nbformat (the
# grader, each grading worker, nbgrader, jupyter-book, each test worker). Without it jsonschema
# only skips checking the "iri" string format, which no notebook or event schema here uses
# (measured: one toy student graded in 19.2 s before, 9.0 s after).
#
# pip byte-compiles what it installs on one core (about 45 s of the venv's 95 s here); --no-compile
# and one compileall over the venv afterwards, on every core, leave the same .pyc files (the grading
# sandbox mounts the venv read-only, so they must exist before any student kernel imports torch).
# Like pip, it goes on past a file that does not compile (torch ships one for Python 3.12 only);
# the line after it fails loudly if compiling stopped short (no .pyc for torch's __init__).

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q --no-compile -r requirements.txt
	$(BIN)/python -m pip uninstall -y -q rfc3987-syntax
	$(BIN)/python -m pip install -q --no-compile --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1 || true
	$(BIN)/python -c "import importlib.util as u, os, sys; o = u.find_spec('torch').origin; \
	  os.path.exists(u.cache_from_source(o)) or sys.exit('make venv: byte-compiling the venv stopped short (no .pyc for ' + o + ')')"
	touch $@

# The chapters are executed first, BOOK_JOBS at a time (_ext/execute_parallel.py fills
# jupyter-book's execution cache, as its own serial execution would), then the build renders.
BOOK_JOBS ?= 2

# One math thread here too: with two, torch splits the course's tiny matrix products across both
# cores, and on a machine that is doing anything else a chapter can take ten times longer
# (measured on chapters 5 and 7). The printed results are the same either way.
book: venv
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python _ext/execute_parallel.py --jobs $(BOOK_JOBS)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Open _build/html/index.html"

# One math thread per process for the tests: the course's models are tiny, so a second thread
# buys little, while two threads competing with anything else on a 2-core machine slow torch's
# small matrix products down by an order of magnitude (measured while writing the chapters).
# Instead, pytest-xdist runs two workers (TEST_WORKERS), one per core: tests/conftest.py keeps
# the tests that share the book build or one assignment's grading run on the same worker.
TEST_WORKERS ?= 2
# --no-loadscope-reorder: groups are queued in the order tests/conftest.py sorts them (longest
# first), not by how many tests each holds (which would queue the grading round trips last).
PYTEST := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# The book is built (its notebooks executed) first, on its own, with warnings as errors; the test
# session then uses that build (SEQLAB_BOOK_BUILT=1, and the stamp _build/.book-ok written only
# after the build succeeded, newer than the book's sources) instead of rendering it again.
# Executing the chapters while the grading, sandbox and Colab-path tests start and stop dozens of kernels on the
# other worker lost book kernels ("Kernel died") in a CI-like run; built first, nothing else runs
# beside them.
test: venv
	rm -f _build/.book-ok
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python _ext/execute_parallel.py --jobs $(BOOK_JOBS)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/jupyter-book build . --warningiserror --keep-going
	touch _build/.book-ok
	SEQLAB_BOOK_BUILT=1 $(PYTEST) --durations=20

test-fast: venv
	$(PYTEST) -m "not slow"

release: venv
	$(BIN)/python -m autograder.release $(ASSIGNMENTS)

grade: venv
	@test -n "$(ASSIGNMENT)" || (echo "usage: make grade ASSIGNMENT=a01 SUBMISSIONS=path/to/folder [OUT=grades/a01]"; exit 2)
	@test -n "$(SUBMISSIONS)" || (echo "usage: make grade ASSIGNMENT=a01 SUBMISSIONS=path/to/folder [OUT=grades/a01]"; exit 2)
	$(BIN)/python -m autograder.grade $(ASSIGNMENT) "$(SUBMISSIONS)" --out "$(or $(OUT),grades/$(ASSIGNMENT))" $(if $(DB),--db "$(DB)") $(if $(SHARD),--shard "$(SHARD)") $(GRADE_ARGS)

bench: venv
	$(BIN)/python bench/run.py

# The public repository of a course that grades for credit: the book, the released exercises and
# seqlab, no solutions/, hidden checks or mutants (autograder/student_repo.py scans for leaks).
STUDENT_REPO_USAGE := usage: make student-repo OUT=dir STUDENT_REPO_URL=https://github.com/ORG/REPO
student-repo: venv
	$(if $(OUT),,$(error $(STUDENT_REPO_USAGE)))
	$(if $(STUDENT_REPO_URL),,$(error $(STUDENT_REPO_USAGE)))
	$(BIN)/python -m autograder.student_repo "$(OUT)" --url "$(STUDENT_REPO_URL)"

clean:
	rm -rf _build grading gradebook.db
