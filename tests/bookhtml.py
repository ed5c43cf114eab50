"""Helpers for tests/test_book.py: the book's pages from _toc.yml, a standard-library HTML reader,
a broken-link check over a built HTML tree, and a blank-screenshot measure. No network, no browser here.

    python tests/bookhtml.py _build/html     # list the broken links of a built book (exit 1 if any)
"""
from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

NOTEBOOK_FOLDER = "book/executed"  # the pipeline's executed copies of notebooks/NN_name.ipynb


def toc_pages(toc_path: Path) -> list[str]:
    """The root and every ``file:`` entry of a Jupyter Book ``_toc.yml``, in reading order, without suffix.

    ``url:`` entries (external links) are no pages of the book; ``glob:`` entries are refused rather than
    expanded here, so that a page can never drop silently out of the checks."""
    toc = yaml.safe_load(Path(toc_path).read_text())
    pages: list[str] = []

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "glob" in node:
                raise ValueError(f"{toc_path}: 'glob: {node['glob']}' entries are not expanded by the book "
                                 "tests; list the files one by one")
            for key in ("root", "file"):
                if key in node:
                    name = str(node[key])
                    for suffix in (".md", ".ipynb"):
                        name = name.removesuffix(suffix)
                    pages.append(name)
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)

    walk(toc)
    assert len(pages) == len(set(pages)), f"{toc_path} lists a page twice: {pages}"
    return pages


def page_source(page: str) -> str:
    """The source file a toc entry stands for, relative to the book root: notebooks are executed copies."""
    return f"{page}.ipynb" if page.startswith(NOTEBOOK_FOLDER + "/") else f"{page}.md"


class Page(HTMLParser):
    """One HTML document, read once: its ids, its links and, inside ``<article>``, images and headings."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.article_images: list[str] = []
        self.headings: list[tuple[str, str]] = []  # (h1..h6, text) inside the article
        self.article_text: list[str] = []
        self._article_depth = 0  # <article> elements open around the current position
        self._heading: list | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for attribute in ("href", "src"):
            if attrs.get(attribute) is not None:
                self.links.append((tag, attribute, attrs[attribute].strip()))
        if attrs.get("srcset"):
            for candidate in attrs["srcset"].split(","):
                if candidate.strip():
                    self.links.append((tag, "srcset", candidate.split()[0]))
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            content = attrs.get("content") or ""
            target = content[content.lower().find("url=") + 4:] if "url=" in content.lower() else ""
            if target:
                self.links.append((tag, "refresh", target.strip().strip("'\"")))
        if tag == "article":
            self._article_depth += 1
        if self._article_depth:
            if tag == "img":
                self.article_images.append((attrs.get("src") or "").strip())
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self._heading = [tag, []]

    def handle_endtag(self, tag):
        if tag == "article" and self._article_depth:
            self._article_depth -= 1
        if self._heading and tag == self._heading[0]:
            text = " ".join("".join(self._heading[1]).split()).removesuffix("#").strip()
            self.headings.append((tag, text))
            self._heading = None

    def handle_data(self, data):
        if self._article_depth:
            self.article_text.append(data)
            if self._heading is not None:
                self._heading[1].append(data)

    @property
    def title(self) -> str | None:
        """The text of the article's first <h1>, or None."""
        return next((text for tag, text in self.headings if tag == "h1" and text), None)


def is_external(url: str) -> bool:
    """Links these tests cannot or need not follow: other sites (there is no network in the tests),
    mail, scripts and inline data. Anything with a scheme, or protocol-relative (//host/...), is external."""
    return bool(urlsplit(url).scheme) or url.startswith("//")


# Sphinx' template macros under _static/ are no pages, and _sources/ holds the page sources offered for
# download (.md / .ipynb, not HTML): neither is read for links, though links *to* them from pages are checked.
SKIP_FOLDERS = ("_static", "_sources")


def broken_links(html_root: Path) -> list[str]:
    """Every relative href / src / srcset / meta-refresh in the built book whose target file is missing, and
    every #fragment into one of the book's HTML pages (the same page included) that names no element there.

    External links (http:, https:, mailto:, ...) are not checked: the tests run without network."""
    html_root = Path(html_root).resolve()
    pages = {path.resolve(): None for path in sorted(html_root.rglob("*.html"))
             if not set(path.relative_to(html_root).parts[:-1]) & set(SKIP_FOLDERS)}

    def parsed(path: Path) -> Page:
        if pages.get(path) is None:
            pages[path] = Page(path.read_text(encoding="utf-8", errors="replace"))
        return pages[path]

    problems = []
    for path in list(pages):
        for tag, attribute, url in parsed(path).links:
            if not url or url == "#" or is_external(url):
                continue
            parts = urlsplit(url)
            where = f"{path.relative_to(html_root)}: <{tag} {attribute}={url!r}>"
            if parts.path.startswith("/"):
                problems.append(f"{where}: site-absolute path (breaks when the book is not served from /)")
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                shown = target.relative_to(html_root) if target.is_relative_to(html_root) else target
                problems.append(f"{where}: no such file {shown}")
                continue
            if parts.fragment and target.suffix == ".html":
                if target not in pages:  # a page outside the checked folders: read it for its ids anyway
                    pages[target] = None
                if unquote(parts.fragment) not in parsed(target).ids:
                    problems.append(f"{where}: no id={unquote(parts.fragment)!r} in {target.relative_to(html_root)}")
    return problems


def nonwhite_fraction(png: Path, box: tuple[int, int, int, int] | None = None, level: int = 245) -> float:
    """The share of pixels darker than ``level`` (of 255) in a screenshot, or in its ``box`` (left, top,
    right, bottom). Needs Pillow (installed with matplotlib)."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        gray = image.convert("L")
        if box is not None:
            gray = gray.crop(box)
        return float((np.asarray(gray) < level).mean())


def image_problem(path: Path) -> str | None:
    """Why an image file would not show in a browser, or None: missing, empty, or not decodable."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    if path.suffix.lower() == ".svg":
        return None if "<svg" in path.read_text(errors="replace")[:5000] else "not an SVG"
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return None
    try:
        with Image.open(path) as image:
            image.verify()
            if image.width < 2 or image.height < 2:
                return f"{image.width}x{image.height} pixels"
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the finding
        return f"not decodable ({exc})"
    return None


if __name__ == "__main__":
    found = broken_links(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html"))
    print("\n".join(found) or "no broken links")
    sys.exit(1 if found else 0)
