"""Package discovery only; everything else is in pyproject.toml.

pyproject's ``packages.find`` cannot add a package that lives outside ``qa/``: the chat page
folder ``web/`` is installed as the package ``qa_web`` (``package-dir`` in pyproject.toml), so the
package list is every package under ``qa/`` (found, not listed) plus ``qa_web``.
"""

from setuptools import find_namespace_packages, setup

# data folders (qa/data) are namespace packages so their files ship as package data
setup(packages=[*find_namespace_packages(include=["qa", "qa.*"], exclude=["*.__pycache__"]), "qa_web"])
