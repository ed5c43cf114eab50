"""The project's set-up files agree with each other."""
import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _norm(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower()


def test_environment_yml_installs_what_pyproject_declares():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip  # the lenet package itself
    assert {_norm(r) for r in pip if r != "-e ."} == declared
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11" and ">=3.11" in project["requires-python"]


def test_readme_first_screen_gives_the_two_commands():
    first_screen = "\n".join((REPO / "README.md").read_text().splitlines()[:25])
    assert "make book" in first_screen and "make test" in first_screen


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci and "set -euo pipefail" in ci


def test_run_lock_files_are_not_committed():
    """``lenet.experiments.run_lock`` leaves ``results/runs/<key>.lock``; git must ignore them."""
    ignore = (REPO / ".gitignore").read_text().splitlines()
    assert "results/runs/*.lock" in ignore
