"""The smoke profile end to end: notebooks executed by papermill, the book built with warnings as
errors, and the replication chapter opened in headless Chromium."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lenet import pipeline

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
    n = len(pipeline.notebooks())
    assert n == 11 and len(re.findall(rf"pipeline: \[\d+/{n}\] \S+ done in", log)) == n
    assert (out / "_build" / "html" / "index.html").exists()
    for name in ("01_data", "02_replication", "03_statistics", "04_cross_validation", "05_tuning",
                 "06_fashion_mnist", "07_emnist", "08_lecun1998", "09_akioyamen", "10_blog", "11_ut"):
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
    assert re.search(r"which\s*(<[^>]+>\s*)*(is within|misses)\s*(<[^>]+>\s*)*the target", html), "faithful verdict"
    for page in (out / "_build" / "html").rglob("*.html"):  # no object reprs instead of glued values
        assert "IPython.core.display" not in page.read_text(), page.name


CHAPTER_FIGURES = {
    "02_replication": ("fig-replication-curves", "fig-replication-confusion", "fig-replication-misclassified"),
    "08_lecun1998": ("fig-l98-codes", "fig-l98-screen", "fig-l98-curves", "fig-l98-confusion", "fig-l98-ablation",
                     "fig-l98-distortions", "fig-l98-distortion-curve"),
    "09_akioyamen": ("fig-ak-versus", "fig-ak-repro-curves", "fig-ak-modern-curves"),
    "10_blog": ("fig-blog-versus", "fig-blog-curves"),
    "11_ut": ("fig-ut-base", "fig-ut-c1", "fig-ut-c3", "fig-ut-c1-maps", "fig-ut-nonlinearity", "fig-ut-pooling",
              "fig-ut-depth", "fig-ut-recurrent"),
}


@pytest.mark.parametrize("chapter", sorted(CHAPTER_FIGURES))
def test_chapter_figures_in_chromium(smoke_book, tmp_path, chapter):
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    out, _ = smoke_book
    page = out / "_build" / "html" / "book" / "executed" / f"{chapter}.html"
    flags = CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / f"{chapter}.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1280,4000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    for name in CHAPTER_FIGURES[chapter]:
        figure = re.search(rf'<figure[^>]*id="{name}".*?</figure>', dom, re.S)
        assert figure, f"figure {name} missing from the rendered page"
        src = re.search(r'<img[^>]*src="([^"]+)"', figure.group(0)).group(1)
        assert (page.parent / src).resolve().stat().st_size > 2_000, f"{name}: image {src} missing or empty"
    assert "<table" in dom
    if chapter in ("02_replication", "08_lecun1998"):
        assert "Confusion matrix" in dom
