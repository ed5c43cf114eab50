"""Execute the notebooks in order with papermill for a profile, then build the book.

    python -m lenet.pipeline --profile full      # render from recorded runs (train what is missing)
    python -m lenet.pipeline --profile smoke     # a few hundred images, minutes; results in _build/
    make book                                    # the same as --profile full

Executed copies go to book/executed/ (a build product). The run stops at the first notebook that
fails; that notebook is kept there with its error. Recorded runs are reused, so rebuilding does not
retrain unless the records are missing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import params

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
# The book's sources, and the files its pages offer for download (the checklist links the code).
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book", "lenet", "params", "tests", "pyproject.toml", "README.md")


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def prepare(out_root: Path) -> Path:
    """A book tree to build in: the repository itself, or a copy of its book sources elsewhere."""
    out_root = Path(out_root).resolve()
    if out_root != REPO_ROOT:
        out_root.mkdir(parents=True, exist_ok=True)
        for name in BOOK_SOURCES:
            source, target = REPO_ROOT / name, out_root / name
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("executed", "__pycache__"))
            else:
                shutil.copy2(source, target)
    return out_root


def execute(profile: str, only: list[str] | None = None, out_root: Path = REPO_ROOT) -> list[Path]:
    """Run each notebook with the profile's values for the parameters it declares."""
    import papermill

    values = params.load_profile(profile)  # unknown names / bad values stop here, before any training
    if values["profile"] == "smoke":  # smoke runs never mix with the recorded study
        os.environ.setdefault("LENET_RESULTS_DIR", str(REPO_ROOT / "_build" / "smoke-results"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Chapters write their rows of the claims ledger here (lenet.claims); a full run starts it afresh.
    ledger_dir = Path(out_root) / "_build" / "ledger"
    if not only and ledger_dir.exists():
        shutil.rmtree(ledger_dir)
    os.environ["LENET_LEDGER_DIR"] = str(ledger_dir)
    executed_dir = Path(out_root) / "book" / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    selected = [nb for nb in notebooks() if not only or any(o in nb.stem for o in only)]
    outputs = []
    for i, nb in enumerate(selected, 1):
        declared = papermill.inspect_notebook(str(nb))
        given = {name: values[name] for name in declared if name in values}
        out = executed_dir / nb.name
        print(f"pipeline: [{i}/{len(selected)}] {nb.name} (profile {values['profile']}) ...", flush=True)
        start = time.perf_counter()
        try:
            papermill.execute_notebook(str(nb), str(out), parameters=given, cwd=str(REPO_ROOT),
                                       kernel_name="python3", progress_bar=False, log_output=False)
        except papermill.PapermillExecutionError as exc:
            print(f"pipeline: FAILED in {nb.name}, cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
                  f"pipeline: the failed notebook, with its error, is at {out}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        _fold_parameter_cells(out)
        print(f"pipeline: [{i}/{len(selected)}] {nb.name} done in {time.perf_counter() - start:.0f} s", flush=True)
        outputs.append(out)
    return outputs


def _fold_parameter_cells(path: Path) -> None:
    """Fold the parameters cell and papermill's injected one in the book (they stay in the notebook)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "hide-cell" not in tags:
            tags.append("hide-cell")
    nbformat.write(nb, path)


def build_book(out_root: Path = REPO_ROOT) -> Path:
    """Jupyter Book 1 build of the executed copies, warnings as errors; returns the HTML index."""
    jb = Path(sys.executable).with_name("jb")
    command = [str(jb) if jb.exists() else "jb", "build", str(out_root), "--warningiserror", "--nitpick",
               "--keep-going"]
    print("pipeline: " + " ".join(command), flush=True)
    subprocess.run(command, check=True)
    index = Path(out_root) / "_build" / "html" / "index.html"
    print(f"pipeline: book at {index}", flush=True)
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lenet.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", help="params/NAME.yaml (full, smoke) or a path")
    parser.add_argument("--only", nargs="*", help="run only notebooks whose name contains one of these")
    parser.add_argument("--skip-build", action="store_true", help="execute the notebooks, do not build the book")
    parser.add_argument("--out", default=str(REPO_ROOT),
                        help="build in this folder (a copy of the book sources) instead of the repository")
    args = parser.parse_args(argv)
    try:
        out_root = prepare(Path(args.out))
        execute(args.profile, args.only, out_root)
    except params.ParameterError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return 2
    if not args.skip_build:
        build_book(out_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
