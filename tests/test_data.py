"""lenet.data: IDX reader, verification, lookup order, download, EMNIST, preprocessing, splits."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lenet import data
from lenet.data import DataError

from conftest import write_idx_set


# --------------------------------------------------------------------------- IDX format

@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_idx_round_trip_raw_and_gzip(tmp_path, name):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = data.write_idx(tmp_path / name, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_gzip_detected_by_content_not_name(tmp_path):
    path = data.write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8), compress=True)
    np.testing.assert_array_equal(data.read_idx(path), np.arange(5))


@pytest.mark.reliability
def test_wrong_magic_names_file_and_found_bytes(tmp_path):
    path = tmp_path / "page.gz"
    path.write_bytes(gzip.compress(b"<html>403 Forbidden</html>"))
    with pytest.raises(DataError, match=r"page\.gz: not an IDX file.*found 3c 68 74 6d"):
        data.read_idx(path)


@pytest.mark.reliability
@pytest.mark.parametrize("compress", [False, True])
def test_truncated_file_is_reported(tmp_path, compress):
    full = data.write_idx(tmp_path / "full", np.zeros((10, 28, 28), np.uint8), compress=compress)
    cut = tmp_path / "cut"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) * 2 // 3])
    with pytest.raises(DataError, match=r"cut: truncated"):
        data.read_idx(cut)


@pytest.mark.reliability
def test_trailing_bytes_are_reported(tmp_path):
    path = data.write_idx(tmp_path / "x", np.zeros(4, np.uint8))
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(DataError, match="longer than its header says"):
        data.read_idx(path)


@pytest.mark.reliability
def test_corrupt_gzip_is_reported(tmp_path):
    path = data.write_idx(tmp_path / "x.gz", np.zeros((3, 28, 28), np.uint8))
    raw = bytearray(path.read_bytes())
    raw[-8] ^= 0xFF  # break the CRC
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupt gzip"):
        data.read_idx(path)


# --------------------------------------------------------------------------- loading and verification

def test_load_verified_synthetic(synthetic):
    spec, root = synthetic
    ds = data.load("synthetic", root)
    assert ds.x_train.shape == (600, 28, 28) and ds.x_test.shape == (200, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert set(ds.y_train) == set(range(10)) and ds.num_classes == 10
    assert all(info["verified"].startswith("sha256") for info in ds.files.values())
    with pytest.raises(ValueError):  # cached arrays are read-only
        ds.x_train[0, 0, 0] = 1


@pytest.mark.reliability
def test_digest_mismatch_names_file_and_leaves_it(synthetic):
    spec, root = synthetic
    path = root / "synthetic" / "t10k-labels-idx1-ubyte.gz"
    labels = data.read_idx(path).copy()
    labels[0] = (labels[0] + 1) % 10
    data.write_idx(path, labels)
    before = path.read_bytes()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: SHA-256 .* expected .* left untouched"):
        data.load("synthetic", root)
    assert path.read_bytes() == before


@pytest.mark.reliability
def test_label_image_count_mismatch(tmp_path):
    folder = tmp_path / "bad"
    write_idx_set(folder, data.MNIST_FILES, n_train=50, n_test=20)
    data.write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    data.register(data.DatasetSpec("bad", "bad", data.MNIST_FILES, sha256=None, class_names=tuple("0123456789")))
    try:
        with pytest.warns(UserWarning, match="unverified"), pytest.raises(DataError, match="20 images but .* 19 labels"):
            data.load("bad", tmp_path)
    finally:
        data._REGISTRY.pop("bad")


@pytest.mark.reliability
def test_wrong_shape_is_reported(tmp_path):
    folder = tmp_path / "shape"
    write_idx_set(folder, data.MNIST_FILES, n_train=50, n_test=20)
    data.write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((20, 32, 32), np.uint8))
    data.register(data.DatasetSpec("shape", "shape", data.MNIST_FILES, sha256=None, class_names=tuple("0123456789")))
    try:
        with pytest.warns(UserWarning), pytest.raises(DataError, match=r"expected images of shape \(N, 28, 28\), found \(20, 32, 32\)"):
            data.load("shape", tmp_path)
    finally:
        data._REGISTRY.pop("shape")


@pytest.mark.reliability
def test_unknown_dataset_lists_known_names():
    with pytest.raises(DataError, match="unknown dataset 'mnits'.*fashion_mnist.*mnist"):
        data.load("mnits")


def test_registry_names_and_class_names():
    assert {"mnist", "fashion_mnist", "emnist_byclass", "emnist_balanced", "emnist_letters",
            "emnist_digits"} <= set(data.names())
    assert data.get_spec("emnist").name == "emnist_byclass"
    assert data.get_spec("fashion_mnist").class_names[0] == "T-shirt/top"
    assert data.get_spec("fashion_mnist").class_names[9] == "Ankle boot"


# --------------------------------------------------------------------------- where files are looked for

def test_lookup_order_explicit_env_cache_system(synthetic, tmp_path, monkeypatch):
    spec, root = synthetic
    env_dir, cache, system = tmp_path / "env", tmp_path / "xdg", tmp_path / "sys"
    monkeypatch.setenv("LENET_DATA_DIR", str(env_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setattr(data, "SYSTEM_DIRS", (system,))
    places = [root / "synthetic", env_dir / "synthetic", cache / "lenet" / "synthetic", system / "synthetic"]
    assert data.search_dirs(spec, root) == [root] + places
    # move the files from place to place: each is found where it is, first match wins
    source = root / "synthetic"
    for place in places[1:]:
        place.parent.mkdir(parents=True, exist_ok=True)
        source.rename(place)
        source = place
        assert data.locate("synthetic", root, download=False)["train_images"].parent == place


@pytest.mark.reliability
def test_missing_files_list_every_place_and_the_fix(synthetic, tmp_path):
    spec, root = synthetic
    with pytest.raises(DataError) as info:
        data.load("mnist", tmp_path / "empty", download=False)
    message = str(info.value)
    assert "missing files" in message and "train-images-idx3-ubyte" in message
    for place in data.search_dirs(data.get_spec("mnist"), tmp_path / "empty"):
        assert str(place) in message
    assert "fix: download" in message and "ossci-datasets" in message


# --------------------------------------------------------------------------- download

def _serve(folder: Path):
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(folder), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.reliability
def test_download_tries_second_mirror_then_verifies(synthetic, tmp_path):
    spec, root = synthetic
    served = root / "synthetic"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "train-images-idx3-ubyte.gz").write_bytes(b"<html>not found</html>")  # wrong content
    server = _serve(served)
    try:
        data.register(data.DatasetSpec(
            "synthetic_dl", "synthetic_dl", data.MNIST_FILES, spec.sha256,
            mirrors=(broken.as_uri() + "/", f"http://127.0.0.1:{server.server_port}/"),
            class_names=spec.class_names))
        ds = data.load("synthetic_dl", tmp_path / "nowhere")
    finally:
        server.shutdown()
        data._REGISTRY.pop("synthetic_dl")
    cache = data.cache_dir() / "synthetic_dl"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in data.MNIST_FILES.values())
    assert ds.x_train.shape == (600, 28, 28)


@pytest.mark.reliability
def test_download_failure_names_each_url(synthetic, tmp_path):
    spec, root = synthetic
    data.register(data.DatasetSpec("nodl", "nodl", data.MNIST_FILES, spec.sha256,
                                   mirrors=((tmp_path / "a").as_uri() + "/", (tmp_path / "b").as_uri() + "/"),
                                   class_names=spec.class_names))
    try:
        with pytest.raises(DataError) as info:
            data.load("nodl", tmp_path / "nowhere")
    finally:
        data._REGISTRY.pop("nodl")
    message = str(info.value)
    assert "could not download" in message
    assert (tmp_path / "a").as_uri() in message and (tmp_path / "b").as_uri() in message
    assert not list((data.cache_dir() / "nodl").glob("*"))  # no partial or bad file left behind


# --------------------------------------------------------------------------- EMNIST

EMNIST_LETTERS = {role: f"emnist-letters-{name.replace('t10k', 'test')}" for role, name in data.MNIST_FILES.items()}


def _emnist_folder(folder: Path, num_classes=5, label_offset=1) -> dict:
    sums = write_idx_set(folder, EMNIST_LETTERS, n_train=60, n_test=20, num_classes=num_classes,
                         transpose=True, label_offset=label_offset)
    (folder / "emnist-letters-mapping.txt").write_text(
        "".join(f"{k + label_offset} {65 + k} {97 + k}\n" for k in range(num_classes)))
    return sums


def _emnist_spec(md5=None, url=None) -> data.DatasetSpec:
    base = data.get_spec("emnist_letters")
    return data.DatasetSpec("emnist_letters", "emnist", base.files, None, transposed=True,
                            mapping_file=base.mapping_file, archive="gzip.zip", archive_url=url or base.archive_url,
                            archive_md5=md5 or base.archive_md5)


def test_emnist_images_upright_and_labels_mapped(tmp_path):
    folder = tmp_path / "emnist"
    _emnist_folder(folder)
    with pytest.warns(UserWarning, match="unverified"):
        ds = data.load("emnist_letters", tmp_path)
    # the fixture wrote bars on rows then transposed them; upright again means bars are rows
    first = ds.x_train[0]
    assert first[3 + 2 * ds.y_train[0], 4:24].min() == 255
    assert ds.class_names == ("A/a", "B/b", "C/c", "D/d", "E/e")
    assert ds.y_train.min() == 0 and ds.y_train.max() == 4  # 1-based letters labels -> 0..K-1


def _write_archive(tmp_path: Path) -> Path:
    staging = tmp_path / "staging"
    _emnist_folder(staging)
    archive = tmp_path / "dl" / "gzip.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in staging.iterdir():
            zf.write(path, f"gzip/{path.name}")
    return archive


@pytest.mark.reliability
def test_emnist_archive_verified_extracted_and_manifest_checked(tmp_path):
    original = data.get_spec("emnist_letters")
    archive = _write_archive(tmp_path)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    data.register(_emnist_spec(md5=md5, url=archive.as_uri()))
    try:
        ds = data.load("emnist_letters", tmp_path / "nowhere")  # downloads the "archive" via file://
        assert ds.x_train.shape == (60, 28, 28) and ds.num_classes == 5
        assert all("verified archive" in info["verified"] for info in ds.files.values())
        # a later corruption of an extracted file is caught by the manifest written at extraction
        extracted = data.cache_dir() / "emnist" / "emnist-letters-test-labels-idx1-ubyte.gz"
        data.write_idx(extracted, np.zeros(20, np.uint8) + 1)
        data.load_dataset.cache_clear()
        with pytest.raises(DataError, match="SHA-256 .* verified archive"):
            data.load("emnist_letters", tmp_path / "nowhere")
    finally:
        data.register(original)


@pytest.mark.reliability
def test_emnist_archive_with_wrong_md5_is_refused_and_kept(tmp_path):
    archive = _write_archive(tmp_path)
    before = archive.read_bytes()
    with pytest.raises(DataError, match=r"gzip\.zip: MD5 is .* expected 58c8d27c78d21e728a6bc7b3cc06412e"):
        data.load("emnist_letters", archive.parent)
    assert archive.read_bytes() == before


# --------------------------------------------------------------------------- preprocessing

def test_preprocess_unit_and_lecun_scaling_and_padding():
    images = np.zeros((2, 28, 28), np.uint8)
    images[:, 10, 10] = 255
    unit = data.preprocess(images, 32, "background", "unit")
    assert unit.shape == (2, 32, 32, 1) and unit.dtype == np.float32
    assert unit.max() == 1.0 and unit.min() == 0.0 and unit[0, 12, 12, 0] == 1.0
    lecun = data.preprocess(images, 32, "background", "lecun")
    assert lecun[0, 0, 0, 0] == pytest.approx(-0.1) and lecun[0, 12, 12, 0] == pytest.approx(1.175)
    assert lecun[0, 5, 5, 0] == pytest.approx(-0.1)  # background inside the image
    zero_pad = data.preprocess(images, 32, "zero", "lecun")
    assert zero_pad[0, 0, 0, 0] == 0.0 and zero_pad[0, 5, 5, 0] == pytest.approx(-0.1)
    assert data.preprocess(images, 28).shape == (2, 28, 28, 1)


@pytest.mark.reliability
@pytest.mark.parametrize("kwargs, match", [({"input_size": 31}, "input_size 31"),
                                           ({"scaling": "minmax"}, "unknown scaling"),
                                           ({"pad_value": "edge"}, "unknown pad_value")])
def test_preprocess_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.preprocess(np.zeros((1, 28, 28), np.uint8), **kwargs)


# --------------------------------------------------------------------------- splits

def test_validation_split_is_stratified_and_seeded(synthetic):
    spec, root = synthetic
    ds = data.load("synthetic", root)
    a = data.make_split(ds, "validation", split_seed=1)
    b = data.make_split(ds, "validation", split_seed=1)
    c = data.make_split(ds, "validation", split_seed=2)
    assert len(a.y_train) == 540 and len(a.y_heldout) == 60 and a.heldout_name == "validation"
    assert Counter(a.y_heldout.tolist()) == {k: 6 for k in range(10)}
    np.testing.assert_array_equal(a.x_heldout, b.x_heldout)
    assert not np.array_equal(a.x_heldout, c.x_heldout)
    assert a.x_test is ds.x_test


@pytest.mark.parametrize("split", ["kfold", "stratified_kfold"])
def test_kfold_partitions_the_combined_set(synthetic, split):
    from sklearn.model_selection import KFold, StratifiedKFold

    spec, root = synthetic
    ds = data.load("synthetic", root)
    y_all = np.concatenate([ds.y_train, ds.y_test])
    folds = [data.make_split(ds, split, fold=k, n_folds=5, split_seed=3) for k in range(5)]
    assert sum(len(f.y_heldout) for f in folds) == 800
    assert all(len(f.y_train) + len(f.y_heldout) == 800 for f in folds)
    # identical to scikit-learn's own folds
    cls = StratifiedKFold if split == "stratified_kfold" else KFold
    expected = [test for _, test in cls(5, shuffle=True, random_state=3).split(y_all, y_all)]
    for f, idx in zip(folds, expected):
        np.testing.assert_array_equal(f.y_heldout, y_all[idx])
    with pytest.raises(ValueError, match="fold 5 out of range"):
        data.make_split(ds, split, fold=5)


@pytest.mark.reliability
def test_unknown_split(synthetic):
    spec, root = synthetic
    with pytest.raises(ValueError, match="unknown split 'holdout'"):
        data.make_split(data.load("synthetic", root), "holdout")


# --------------------------------------------------------------------------- the real files

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.real_data
def test_real_mnist_verified_with_canonical_counts(real_data_dir):
    ds = data.load("mnist", real_data_dir, download=False)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert np.bincount(ds.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST_COUNTS
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert all("matches known digest" in info["verified"] for info in ds.files.values())
    split = data.make_split(ds, "validation")
    assert (len(split.y_train), len(split.y_heldout)) == (54000, 6000)
    assert len(data.make_split(ds, "kfold", fold=0).y_heldout) == 14000


@pytest.mark.real_data
def test_real_fashion_mnist_verified(real_data_dir):
    ds = data.load("fashion_mnist", real_data_dir, download=False)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10 and np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert all("matches known digest" in info["verified"] for info in ds.files.values())
