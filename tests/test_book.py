"""The smoke profile end to end: notebooks executed by papermill, the book built with warnings as
errors, and the replication chapter opened in headless Chromium."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    from conftest import USER_DATA_DIR

    data_dir = USER_DATA_DIR or str(REPO.parent / "shared" / "datasets")
    if not (Path(data_dir) / "mnist").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the real datasets are missing for the smoke book")
        pytest.skip("the smoke book needs the real MNIST / Fashion-MNIST files (../shared/datasets)")
    out = tmp_path_factory.mktemp("smoke-book")
    env = {**os.environ, "LENET_DATA_DIR": data_dir, "LENET_RESULTS_DIR": str(out / "results"),
           "XDG_CACHE_HOME": str(out / "cache")}
    proc = subprocess.run([sys.executable, "-m", "lenet.pipeline", "--profile", "smoke", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout


def test_pipeline_prints_one_line_per_notebook_and_builds(smoke_book):
    out, log = smoke_book
    assert len(re.findall(r"pipeline: \[\d/7\] \S+ done in", log)) == 7
    assert (out / "_build" / "html" / "index.html").exists()
    for name in ("01_data", "02_replication", "03_statistics", "04_cross_validation", "05_tuning",
                 "06_fashion_mnist", "07_emnist"):
        assert (out / "_build" / "html" / "book" / "executed" / f"{name}.html").exists(), name


def test_emnist_chapter_says_plainly_that_data_is_absent(smoke_book):
    out, _ = smoke_book
    html = (out / "_build" / "html" / "book" / "executed" / "07_emnist.html").read_text()
    assert 'class="admonition note"' in html and "python -m lenet fetch emnist" in html


def test_glued_numbers_render_in_prose(smoke_book):
    out, _ = smoke_book
    html = (out / "_build" / "html" / "book" / "discussion.html").read_text()
    assert re.search(r"mean test accuracy is\s*(<[^>]+>\s*)*\d+\.\d\d", html), "glued accuracy missing"
    assert re.search(r"statistics chapter</span></a> finds the mean\s*(<[^>]+>\s*)*(not shown )?equivalent", html)
    for page in (out / "_build" / "html").rglob("*.html"):  # no object reprs instead of glued values
        assert "IPython.core.display" not in page.read_text(), page.name


def test_replication_chapter_in_chromium(smoke_book, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    out, _ = smoke_book
    page = out / "_build" / "html" / "book" / "executed" / "02_replication.html"
    flags = CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "replication.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1280,4000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    for name in ("fig-replication-curves", "fig-replication-confusion", "fig-replication-misclassified"):
        figure = re.search(rf'<figure[^>]*id="{name}".*?</figure>', dom, re.S)
        assert figure, f"figure {name} missing from the rendered page"
        src = re.search(r'<img[^>]*src="([^"]+)"', figure.group(0)).group(1)
        assert (page.parent / src).resolve().stat().st_size > 5_000, f"{name}: image {src} missing or empty"
    assert "Confusion matrix on the MNIST test set" in dom
