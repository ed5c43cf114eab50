"""The smoke profile end to end: notebooks executed by papermill, the book built with warnings as errors,
every page listed in _toc.yml opened in headless Chromium, and no broken link anywhere in the built HTML.

The pages come from _toc.yml when the tests are collected, so a chapter added there is checked without
editing this file."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bookhtml
from lenet import pipeline

REPO = Path(__file__).resolve().parent.parent
PAGES = bookhtml.toc_pages(REPO / "_toc.yml")  # root + every `file:`, e.g. "book/executed/02_replication"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
WINDOW = (1280, 4000)
# At 1280 px the theme's left sidebar ends near x=260 and the right-hand contents start near x=1000: this
# box is article only. The top 1000 px always hold the title and the first paragraphs of a page; in the
# smoke book text-only pages cover 9-13 % of it, pages with figures up to 46 %, an empty article under 1 %.
ARTICLE_TOP = (300, 0, 1000, 1000)
MIN_ARTICLE_INK = 0.02
MIN_PAGE_INK = 0.005  # the whole 1280x4000 screenshot; the short references page is near 2 %


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


@pytest.fixture(scope="module")
def browser(smoke_book, tmp_path_factory):
    """``render(page.html) -> (screenshot.png, dumped DOM)``: one headless Chromium run per page (~2 s), with
    its own profile folder, shared by the tests of this module."""
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("chromium")
    rendered = {}

    def render(page: Path) -> tuple[Path, str]:
        if page not in rendered:
            name = f"{len(rendered):02d}-{page.stem}"
            shot = folder / f"{name}.png"
            command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={folder / f'profile-{name}'}",
                       f"--window-size={WINDOW[0]},{WINDOW[1]}"]
            # One run writes the screenshot and prints the DOM; a Chromium that does only one of the two
            # gets a second run for the screenshot.
            dom = subprocess.run([*command, f"--screenshot={shot}", "--dump-dom", page.as_uri()],
                                 capture_output=True, text=True, timeout=120, check=True).stdout
            if not shot.exists():
                subprocess.run([*command, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                               timeout=120, check=True)
            assert shot.exists() and "<html" in dom, f"Chromium rendered nothing for {page}"
            rendered[page] = shot, dom
        return rendered[page]

    return render


def test_pipeline_prints_one_line_per_notebook_and_builds(smoke_book):
    """Every notebook in notebooks/ is executed (one line each, in order), is a chapter of _toc.yml as
    book/executed/<stem>, and is built; every notebook chapter of _toc.yml has its notebook."""
    out, log = smoke_book
    stems = [nb.stem for nb in pipeline.notebooks()]
    n = len(stems)
    assert n > 0
    done = re.findall(rf"pipeline: \[\d+/{n}\] (\S+) done in", log)
    assert done == [f"{stem}.ipynb" for stem in stems], f"executed {done}, expected all of notebooks/ in order"
    assert (out / "_build" / "html" / "index.html").exists()
    chapters = {page.rsplit("/", 1)[1] for page in PAGES if page.startswith(bookhtml.NOTEBOOK_FOLDER + "/")}
    assert not set(stems) - chapters, f"notebooks missing from _toc.yml: {sorted(set(stems) - chapters)}"
    assert not chapters - set(stems), f"_toc.yml names notebooks not in notebooks/: {sorted(chapters - set(stems))}"
    for stem in stems:
        assert (out / "_build" / "html" / bookhtml.NOTEBOOK_FOLDER / f"{stem}.html").exists(), stem


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium(smoke_book, browser, page):
    """Each page of _toc.yml: built, not blank on screen, titled, its images present, no error output."""
    out, _ = smoke_book
    assert (out / bookhtml.page_source(page)).is_file(), f"source {bookhtml.page_source(page)} not in the book tree"
    path = out / "_build" / "html" / f"{page}.html"
    assert path.is_file(), f"{page} is in _toc.yml but {path.name} was not built"
    shot, dom = browser(path)

    try:
        article_ink = bookhtml.nonwhite_fraction(shot, ARTICLE_TOP)
        page_ink = bookhtml.nonwhite_fraction(shot)
    except ImportError:  # no Pillow: fall back on the size of the PNG (a blank 1280x4000 one is ~20 kB)
        assert shot.stat().st_size > 40_000, f"{page}: screenshot looks blank ({shot.stat().st_size} bytes)"
    else:
        assert article_ink >= MIN_ARTICLE_INK, f"{page}: top of the article is blank ({article_ink:.1%} non-white)"
        assert page_ink >= MIN_PAGE_INK, f"{page}: screenshot is blank ({page_ink:.1%} non-white)"

    doc = bookhtml.Page(dom)
    assert doc.title, f"{page}: no <h1> title in the rendered article"
    assert len("".join(doc.article_text).split()) >= 20, f"{page}: the article is (nearly) empty"
    problems = []
    for src in doc.article_images:
        if not src:
            problems.append("<img> without src")
        elif src.startswith("data:"):
            continue  # inline image, part of the page itself
        elif bookhtml.is_external(src):
            problems.append(f"{src}: external image (the book must render offline)")
        else:
            why = bookhtml.image_problem((path.parent / src.split("#")[0].split("?")[0]).resolve())
            if why:
                problems.append(f"{src}: {why}")
    assert not problems, f"{page}: images in the article that will not show:\n" + "\n".join(problems)
    error = re.search(r'class="[^"]*\btraceback\b', dom)
    assert error is None, f"{page}: a cell shows an error traceback"


def test_no_broken_links(smoke_book):
    """Every relative link, image, script and stylesheet of every built page points at an existing file, and
    every #fragment into a page of the book names an element there. External links (http, https, mailto)
    are not followed: the tests run without network. Files under _static/ (template macros) and _sources/
    (downloadable page sources) are not read for links, but links to them are checked."""
    out, _ = smoke_book
    broken = bookhtml.broken_links(out / "_build" / "html")
    assert not broken, f"{len(broken)} broken link(s) in the built book:\n" + "\n".join(broken)


CHAPTER_FIGURES = {
    "02_replication": ("fig-replication-curves", "fig-replication-confusion", "fig-replication-misclassified"),
    "08_lecun1998": ("fig-l98-codes", "fig-l98-screen", "fig-l98-curves", "fig-l98-confusion", "fig-l98-ablation",
                     "fig-l98-distortions", "fig-l98-distortion-curve"),
    "09_akioyamen": ("fig-ak-versus", "fig-ak-repro-curves", "fig-ak-modern-curves"),
    "10_blog": ("fig-blog-versus", "fig-blog-curves"),
    "12_claims": ("fig-ledger-summary",),
    "11_ut": ("fig-ut-base", "fig-ut-c1", "fig-ut-c3", "fig-ut-c1-maps", "fig-ut-nonlinearity", "fig-ut-pooling",
              "fig-ut-depth", "fig-ut-recurrent"),
}


@pytest.mark.parametrize("chapter", sorted(CHAPTER_FIGURES))
def test_chapter_figures_in_chromium(smoke_book, browser, chapter):
    out, _ = smoke_book
    page = out / "_build" / "html" / "book" / "executed" / f"{chapter}.html"
    shot, dom = browser(page)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    for name in CHAPTER_FIGURES[chapter]:
        figure = re.search(rf'<figure[^>]*id="{name}".*?</figure>', dom, re.S)
        assert figure, f"figure {name} missing from the rendered page"
        src = re.search(r'<img[^>]*src="([^"]+)"', figure.group(0)).group(1)
        assert (page.parent / src).resolve().stat().st_size > 2_000, f"{name}: image {src} missing or empty"
    assert "<table" in dom
    if chapter in ("02_replication", "08_lecun1998"):
        assert "Confusion matrix" in dom


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
    # the landing page's summary: the ledger's counts and verdicts, glued, and its table per source
    intro = (out / "_build" / "html" / "book" / "intro.html").read_text()
    gap = r"\s*(<[^>]+>\s*)*"
    assert re.search(rf"Of{gap}\d+{gap}published numbers,{gap}\d+{gap}are reproduced", intro), "ledger counts"
    assert re.search(rf"0\.95% test error:{gap}(reproduced|differs|inconclusive)", intro), "glued verdict"
    assert "Landry &amp; Cabrera (UT)" in intro and "<table" in intro, "per-source table"
    for page in (out / "_build" / "html").rglob("*.html"):  # no object reprs instead of glued values
        assert "IPython.core.display" not in page.read_text(), page.name
