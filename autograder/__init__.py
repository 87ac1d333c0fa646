"""The course's autograder: hidden check functions and the grading commands.

- ``autograder/aNN_slug.py``        hidden checks of assignment aNN, called from the
                                    ``### BEGIN HIDDEN TESTS`` blocks of its source notebook
- ``autograder/mutants/aNN_slug.py`` the catalogue of typical wrong solutions of aNN, each of
                                    which must lose the points of the test cells it names
- ``autograder/release.py``         ``make release``: regenerate ``exercises/`` from ``solutions/``
- ``autograder/grade.py``           ``make grade``: autograde a folder of submissions

Hidden checks take the student's objects as arguments, are deterministic and fast, write nothing
to stderr (nbgrader scores a test cell 0 if it does) and fail with a message a student can act on.
"""
