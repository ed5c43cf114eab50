"""Shared fixtures: synthetic IDX datasets, an isolated cache/results folder, and the real data (if present)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lenet import data

REPO = Path(__file__).resolve().parent.parent
USER_DATA_DIR = os.environ.get("LENET_DATA_DIR")  # read before the autouse fixture hides it


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """Never touch the user's cache, results or data folders from a test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("LENET_RESULTS_DIR", str(home / "results"))
    monkeypatch.delenv("LENET_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "SYSTEM_DIRS", (home / "system",))
    yield
    data.load_dataset.cache_clear()


def make_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Learnable 28x28 digits-alike: class k is a bright bar on row 3 + 2k, plus noise."""
    images = rng.integers(0, 60, size=(len(labels), 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        images[i, 3 + 2 * k, 4:24] = 255
    return images


def write_idx_set(folder: Path, files: dict, n_train=600, n_test=200, num_classes=10, seed=0,
                  transpose=False, label_offset=0) -> dict:
    """Write the four IDX files (gzip) into ``folder``; return {file name: SHA-256 of uncompressed bytes}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for part, n in (("train", n_train), ("test", n_test)):
        labels = np.arange(n) % num_classes
        rng.shuffle(labels)
        images = make_images(labels, rng)
        if transpose:
            images = images.transpose(0, 2, 1)
        for role, array in ((f"{part}_images", images), (f"{part}_labels", labels + label_offset)):
            path = data.write_idx(folder / f"{files[role]}.gz", array)
            sums[files[role]] = data.sha256_hex(data.read_bytes(path))
    return sums


@pytest.fixture
def synthetic(tmp_path):
    """A registered, digest-verified 10-class dataset named 'synthetic' in tmp_path/data/synthetic."""
    folder = tmp_path / "data" / "synthetic"
    sums = write_idx_set(folder, data.MNIST_FILES)
    spec = data.register(data.DatasetSpec(name="synthetic", folder="synthetic", files=data.MNIST_FILES,
                                          sha256=sums, class_names=tuple("0123456789")))
    yield spec, tmp_path / "data"
    data._REGISTRY.pop("synthetic", None)


@pytest.fixture
def real_data_dir() -> Path:
    """The real MNIST / Fashion-MNIST folder; skips (visibly) without it, fails in CI."""
    candidates = [USER_DATA_DIR, str(REPO.parent / "shared" / "datasets")]
    for candidate in filter(None, candidates):
        if (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but the real datasets are missing: expected ../shared/datasets beside the clone")
    pytest.skip("real MNIST files not found (../shared/datasets); these checks run in CI")
