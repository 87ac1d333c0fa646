"""nbgrader settings for the course directory (this repository).

solutions/aNN_slug/aNN_slug.ipynb  -- source notebooks (reference solutions, hidden tests)
exercises/aNN_slug/aNN_slug.ipynb  -- student releases, made by `make release`, never edited

Grading does not happen here: `make grade` builds a fresh course directory under the output
folder (see autograder/grade.py), so this repository never holds student work.
"""
import os

c = get_config()  # noqa: F821 - injected by nbgrader

_root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = _root
c.CourseDirectory.course_id = "sequence-models"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# generate_assignment records assignments in a gradebook; keep that scratch file out of the tree.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_root, "_build", "nbgrader", "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.db"]
