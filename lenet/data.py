"""Datasets: registry, IDX reader, verified lookup/download, preprocessing and splits.

Used by every chapter: ``load("mnist")`` finds the four IDX files (an explicit directory,
``$LENET_DATA_DIR``, the user cache, known system folders, else a verified download),
checks each against the SHA-256 of its *uncompressed* bytes and returns uint8 arrays.
``preprocess`` pads 28->32 and scales; ``make_split`` gives the official, validation
or k-fold split.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import struct
import sys
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SYSTEM_DIRS = (Path("/usr/share/datasets"),)  # Debian's dataset-fashion-mnist installs here
DOWNLOAD_TIMEOUT_S = 60


class DataError(ValueError):
    """A data file is missing, corrupt or not what was expected; the message says how to fix it."""


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's files live and how to check them."""

    name: str
    folder: str  # sub-folder of a data directory / the cache that holds the files
    files: dict  # role -> uncompressed IDX file name (a ``.gz`` twin is found too)
    sha256: dict | None  # file name -> SHA-256 of the uncompressed bytes; None: unverified
    mirrors: tuple = ()  # base URLs, tried in order; each serves ``<file>.gz``
    class_names: tuple | None = None
    transposed: bool = False  # EMNIST stores images transposed
    mapping_file: str | None = None  # EMNIST: "label ascii [ascii]" lines -> class names
    archive: str | None = None  # EMNIST: file name of the official zip ...
    archive_url: str | None = None  # ... where it is published ...
    archive_md5: str | None = None  # ... and its published digest
    archive_member_dir: str = "gzip/"


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add (or replace) a dataset; tests register small synthetic ones this way."""
    _REGISTRY[spec.name] = spec
    if "load_dataset" in globals():  # forget arrays loaded under an older spec of that name
        load_dataset.cache_clear()
    return spec


register(DatasetSpec(
    name="mnist", folder="mnist", files=MNIST_FILES,
    sha256={
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    class_names=tuple(str(d) for d in range(10)),
))
register(DatasetSpec(
    name="fashion_mnist", folder="fashion-mnist", files=MNIST_FILES,
    sha256={
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"),
    class_names=FASHION_CLASSES,
))
for _split in ("byclass", "balanced", "letters", "digits"):
    register(DatasetSpec(
        name=f"emnist_{_split}", folder="emnist",
        files={role: f"emnist-{_split}-{MNIST_FILES[role].replace('t10k', 'test')}" for role in ROLES},
        sha256=None,  # the official archive's MD5 is the published digest (see _from_archive)
        transposed=True,
        mapping_file=f"emnist-{_split}-mapping.txt",
        archive="gzip.zip",
        archive_url="https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
        archive_md5="58c8d27c78d21e728a6bc7b3cc06412e",
    ))
ALIASES = {"emnist": "emnist_byclass", "fashion-mnist": "fashion_mnist"}


def get_spec(name: str) -> DatasetSpec:
    key = ALIASES.get(name, name)
    if key not in _REGISTRY:
        known = ", ".join(sorted(set(_REGISTRY) | set(ALIASES)))
        raise DataError(f"unknown dataset {name!r}; known datasets: {known}")
    return _REGISTRY[key]


def names() -> list[str]:
    return sorted(_REGISTRY)


# --------------------------------------------------------------------------- IDX format

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_bytes(path: Path) -> bytes:
    """The file's uncompressed bytes (gzip recognised by its magic number, not its name)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (the compressed stream ends early); "
                        f"the download or copy was cut short -- replace the file with a complete copy") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc}); replace it with a pristine copy") from None


def parse_idx(data: bytes, path: Path | str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes (magic 00 00 <dtype> <ndim>, big-endian uint32 dims, then the data)."""
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise DataError(f"{path}: not an IDX file -- expected magic bytes 00 00 08 01 (labels) or "
                        f"00 00 08 03 (images), found {data[:4].hex(' ') or 'an empty file'}; "
                        f"is this the right file (or an HTML error page saved by a failed download)?")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, expected {header}); "
                        f"replace the file with a complete copy")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(f"{path}: {what}: header {dims} needs {expected:,} bytes, found {len(data):,}; "
                        f"replace the file with a complete copy")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: Path | str) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw."""
    return parse_idx(read_bytes(Path(path)), path)


def write_idx(path: Path | str, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write a uint8 array as IDX (gzip when ``compress`` or the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = struct.pack(f">BBBB{array.ndim}I", 0, 0, 0x08, array.ndim, *array.shape) + array.tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    atomic_write(path, lambda handle: handle.write(data))
    return path


def atomic_write(path: Path, write) -> None:
    """Write via ``write(handle)`` to a temporary file in the same folder, then rename: readers see
    all or nothing, and a crash leaves no partial file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- where files are

def cache_dir() -> Path:
    """The user cache: ``$XDG_CACHE_HOME/lenet`` (default ``~/.cache/lenet``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lenet"


def search_dirs(spec: DatasetSpec, data_dir: Path | str | None = None) -> list[Path]:
    """Folders searched for a dataset's files, in order."""
    bases = []
    if data_dir is not None:
        bases.append(Path(data_dir))
    if os.environ.get("LENET_DATA_DIR"):
        bases.append(Path(os.environ["LENET_DATA_DIR"]))
    bases.append(cache_dir())
    bases.extend(SYSTEM_DIRS)
    # Only an explicit folder may hold the files directly: MNIST and Fashion-MNIST share file
    # names, so shared locations keep each dataset in its own sub-folder.
    dirs = [Path(data_dir)] if data_dir is not None else []
    for base in bases:
        if base / spec.folder not in dirs:
            dirs.append(base / spec.folder)
    return dirs


def _find(name: str, dirs: list[Path]) -> Path | None:
    for folder in dirs:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate
    return None


def _missing_message(spec: DatasetSpec, names_: list[str], dirs: list[Path], why: str) -> str:
    looked = "\n".join(f"  - {d}" for d in dirs)
    how = (f"download the official archive {spec.archive_url} and put {spec.archive} in"
           if spec.archive else
           f"download {', '.join(n + '.gz' for n in names_)} from {spec.mirrors[0] if spec.mirrors else 'the dataset page'} into")
    return (f"dataset {spec.name!r}: {why} {', '.join(names_)}\nlooked in:\n{looked}\n"
            f"fix: {how} {cache_dir() / spec.folder} (or any folder above, e.g. $LENET_DATA_DIR/{spec.folder}/), "
            f"or allow the download (download=True) on a machine with network access")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_digest(spec: DatasetSpec, name: str, path: Path, data: bytes) -> str:
    """Return how the file was verified; raise DataError on a mismatch."""
    found = sha256_hex(data)
    manifest = path.parent / "SHA256SUMS"
    expected = (spec.sha256 or {}).get(name)
    source = "known digest"
    if expected is None and manifest.is_file():  # EMNIST: written when extracted from the verified archive
        sums = dict(reversed(line.split()) for line in manifest.read_text().splitlines() if line.strip())
        expected, source = sums.get(name), f"{manifest} (from the verified archive)"
    if expected is None:
        warnings.warn(f"{path}: no known digest for {name}; loading it unverified", stacklevel=3)
        return "unverified"
    if found != expected:
        raise DataError(f"{path}: SHA-256 of the uncompressed bytes is {found}, expected {expected} ({source}); "
                        f"the file is corrupt or a different version. It was left untouched: move it away "
                        f"and place a pristine copy there, or delete it to let the loader download one")
    return f"sha256 {found[:16]}… matches {source}"


# --------------------------------------------------------------------------- download

def _download(url: str, dest: Path, desc: str) -> None:
    """Stream ``url`` to ``dest`` via a partial file and an atomic rename."""
    from tqdm.auto import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
                      leave=False) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def _fetch(spec: DatasetSpec, name: str, dirs: list[Path]) -> Path:
    """Download ``name.gz`` from the first mirror that serves a file with the right digest."""
    dest = cache_dir() / spec.folder / f"{name}.gz"
    errors = []
    for mirror in spec.mirrors:
        url = mirror + f"{name}.gz"
        try:
            _download(url, dest, desc=f"{spec.name}: {name}")
            _check_digest(spec, name, dest, read_bytes(dest))
            return dest
        except (urllib.error.URLError, OSError, DataError) as exc:
            errors.append(f"  - {url}: {exc}")
            if dest.exists():  # our own download, never a user's file (those are found before this)
                dest.unlink()
    raise DataError(_missing_message(spec, [name], dirs, "could not download") +
                    "\ndownload attempts:\n" + "\n".join(errors))


def _from_archive(spec: DatasetSpec, dirs: list[Path], download: bool) -> Path:
    """EMNIST: find (or download) the official zip, check its MD5, extract this split into the cache."""
    archive = _find(spec.archive, dirs)
    if archive is None:
        if not download:
            raise DataError(_missing_message(spec, list(spec.files.values()), dirs, "missing files"))
        archive = cache_dir() / spec.folder / spec.archive
        try:
            _download(spec.archive_url, archive, desc=f"{spec.name}: {spec.archive}")
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(_missing_message(spec, [spec.archive], dirs, "could not download") +
                            f"\ndownload attempt:\n  - {spec.archive_url}: {exc}") from None
    found = _file_md5(archive)
    if found != spec.archive_md5:
        raise DataError(f"{archive}: MD5 is {found}, expected {spec.archive_md5} (the official EMNIST archive); "
                        f"the file was left untouched: move it away and place a pristine copy there")
    out_dir = cache_dir() / spec.folder
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = list(spec.files.values())
    sums = []
    with zipfile.ZipFile(archive) as zf:
        members = set(zf.namelist())
        for name in wanted + [spec.mapping_file]:
            member = spec.archive_member_dir + (name if name.endswith(".txt") else f"{name}.gz")
            if member not in members:
                raise DataError(f"{archive}: has no member {member}; is this the official EMNIST gzip.zip?")
            target = out_dir / Path(member).name
            if target.exists():
                raise DataError(f"{target} exists but was not found as a usable file; move it away and retry")
            data = zf.read(member)
            atomic_write(target, lambda handle: handle.write(data))
            if name in wanted:
                sums.append(f"{sha256_hex(read_bytes(target))}  {name}")
    manifest = out_dir / "SHA256SUMS"
    old = manifest.read_text().splitlines() if manifest.exists() else []
    text = "\n".join(sorted(set(old) | set(sums))) + "\n"
    atomic_write(manifest, lambda handle: handle.write(text.encode()))
    return out_dir


def locate(name: str, data_dir: Path | str | None = None, download: bool = True) -> dict[str, Path]:
    """Paths of a dataset's files (role -> path), downloading what is missing when allowed."""
    spec = get_spec(name)
    dirs = search_dirs(spec, data_dir)
    needed = list(spec.files.values()) + ([spec.mapping_file] if spec.mapping_file else [])
    found = {n: _find(n, dirs) for n in needed}
    missing = [n for n, p in found.items() if p is None]
    if missing and spec.archive:
        out_dir = _from_archive(spec, dirs, download)
        found.update({n: _find(n, [out_dir]) for n in missing})
    elif missing:
        if not download or not spec.mirrors:
            raise DataError(_missing_message(spec, missing, dirs, "missing files"))
        found.update({n: _fetch(spec, n, dirs) for n in missing})
    paths = {role: found[n] for role, n in spec.files.items()}
    if spec.mapping_file:
        paths["mapping"] = found[spec.mapping_file]
    return paths


# --------------------------------------------------------------------------- datasets

@dataclass(frozen=True)
class Dataset:
    """The official train/test arrays (uint8 images N×28×28, int labels 0..K-1) and their provenance."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    files: dict = field(default_factory=dict)  # file name -> {"path", "verified"}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def read_mapping(path: Path) -> tuple[list[int], list[str]]:
    """EMNIST mapping: lines "label code [code ...]" -> (labels, class names such as 'A' or 'A/a')."""
    labels, class_names = [], []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            label, *codes = (int(tok) for tok in line.split())
            if not codes:
                raise ValueError("no character code")
        except ValueError as exc:
            raise DataError(f"{path}, line {number}: expected 'label ascii-code', found {line!r} ({exc})") from None
        labels.append(label)
        class_names.append("/".join(dict.fromkeys(chr(c) for c in codes)))
    return labels, class_names


@functools.lru_cache(maxsize=8)
def load_dataset(name: str, data_dir: str | None = None, download: bool = True) -> Dataset:
    """Load and verify a dataset by name (``mnist``, ``fashion_mnist``, ``emnist`` = ``emnist_byclass``,
    ``emnist_balanced``, ``emnist_letters``, ``emnist_digits``). Arrays are read-only and cached."""
    spec = get_spec(name)
    paths = locate(spec.name, data_dir, download)
    arrays, files = {}, {}
    for role, file_name in spec.files.items():
        path = paths[role]
        data = read_bytes(path)
        arrays[role] = parse_idx(data, path)
        files[file_name] = {"path": str(path), "verified": _check_digest(spec, file_name, path, data)}

    class_names = spec.class_names
    label_values = None
    if spec.mapping_file:
        label_values, mapped = read_mapping(paths["mapping"])
        class_names = tuple(mapped)
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        ipath, lpath = paths[f"{part}_images"], paths[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataError(f"{ipath}: expected images of shape (N, 28, 28), found {images.shape}; "
                            f"is this an images file of {spec.name}?")
        if labels.ndim != 1:
            raise DataError(f"{lpath}: expected a 1-D labels file, found shape {labels.shape}")
        if len(images) != len(labels):
            raise DataError(f"{ipath} has {len(images):,} images but {lpath} has {len(labels):,} labels; "
                            f"the two files belong to different releases or splits")
        if label_values is not None:  # e.g. EMNIST letters are labelled 1..26: map to 0..K-1
            lookup = np.full(max(max(label_values), int(labels.max())) + 1, -1, dtype=np.int64)
            lookup[label_values] = np.arange(len(label_values))
            labels = lookup[labels]
        if labels.min() < 0 or labels.max() >= len(class_names):
            raise DataError(f"{lpath}: labels outside 0..{len(class_names) - 1} ({spec.name} has "
                            f"{len(class_names)} classes)")
        if spec.transposed:
            images = images.transpose(0, 2, 1)
        arrays[f"{part}_images"] = np.ascontiguousarray(images)
        arrays[f"{part}_labels"] = labels.astype(np.int64)
    for array in arrays.values():
        array.setflags(write=False)
    return Dataset(spec.name, arrays["train_images"], arrays["train_labels"], arrays["test_images"],
                   arrays["test_labels"], tuple(class_names), files)


def load(name: str, data_dir: Path | str | None = None, download: bool = True) -> Dataset:
    """``load_dataset`` with the data folder resolved, so equal folders share the cache."""
    return load_dataset(name, None if data_dir is None else str(Path(data_dir).resolve()), download)


# --------------------------------------------------------------------------- preprocessing

SCALINGS = {
    "unit": (1.0 / 255.0, 0.0),  # [0, 1], as the seed reproductions
    "lecun": (1.275 / 255.0, -0.1),  # background -0.1, ink 1.175, as the 1998 paper (§II-B)
}
PAD_VALUES = ("background", "zero")


def preprocess(images: np.ndarray, input_size: int = 32, pad_value: str = "background",
               scaling: str = "unit") -> np.ndarray:
    """uint8 N×28×28 -> float32 N×S×S×1: scale, then pad symmetrically to ``input_size``.

    ``pad_value="background"`` pads with the scaled background (0 -> 0 for ``unit``, -0.1 for
    ``lecun``), as the paper; ``"zero"`` pads with 0.0 whatever the scaling.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"unknown scaling {scaling!r}; choose one of {sorted(SCALINGS)}")
    if pad_value not in PAD_VALUES:
        raise ValueError(f"unknown pad_value {pad_value!r}; choose one of {list(PAD_VALUES)}")
    height = images.shape[1]
    pad = input_size - height
    if pad < 0 or pad % 2:
        raise ValueError(f"input_size {input_size} must be {height} or {height} + an even number")
    gain, offset = SCALINGS[scaling]
    x = images.astype(np.float32) * np.float32(gain) + np.float32(offset)
    fill = offset if pad_value == "background" else 0.0
    half = pad // 2
    x = np.pad(x, ((0, 0), (half, half), (half, half)), constant_values=fill)
    return x[..., None]


# --------------------------------------------------------------------------- distortions

# The 1998 paper's distortion experiment (§III-C) draws "random combinations of the following planar
# affine transformations: horizontal and vertical translations, scaling, squeezing (simultaneous
# horizontal compression and vertical elongation, or the reverse), and horizontal shearing" and gives
# no magnitudes. Ours are chosen so that a digit stays inside the 28x28 field and keeps its label:
DISTORTION = {
    "translation_px": 2.0,  # up to +-2 px each way: MNIST digits sit in a 20x20 box inside 28x28
    "scale": 0.10,  # both axes by 1 +- 10%
    "squeeze": 0.10,  # x by (1 + q), y by 1 / (1 + q), q within +-10%
    "shear": 0.20,  # x += shear * (y - centre): up to about +-11 degrees of slant
}


def distortion_parameters(n: int, seed: int) -> np.ndarray:
    """(n, 5) random draws (ty, tx, scale, squeeze, shear) within ``DISTORTION``'s bounds."""
    rng = np.random.default_rng(seed)
    d = DISTORTION
    return np.stack([rng.uniform(-d["translation_px"], d["translation_px"], n),
                     rng.uniform(-d["translation_px"], d["translation_px"], n),
                     1.0 + rng.uniform(-d["scale"], d["scale"], n),
                     1.0 + rng.uniform(-d["squeeze"], d["squeeze"], n),
                     rng.uniform(-d["shear"], d["shear"], n)], axis=1)


def distort(images: np.ndarray, parameters: np.ndarray) -> np.ndarray:
    """Apply one affine distortion per image (uint8 Nx28x28 in and out; bilinear, background 0)."""
    from scipy.ndimage import affine_transform

    images = np.asarray(images)
    if len(images) != len(parameters):
        raise ValueError(f"{len(images)} images but {len(parameters)} distortion parameter rows")
    centre = (np.array(images.shape[1:3], float) - 1) / 2
    out = np.empty_like(images)
    for i, (ty, tx, scale, squeeze, shear) in enumerate(parameters):
        # forward map in (row, col) = (y, x): scale/squeeze after a horizontal shear, then translate
        forward = np.diag([scale / squeeze, scale * squeeze]) @ np.array([[1.0, 0.0], [shear, 1.0]])
        inverse = np.linalg.inv(forward)
        offset = centre - inverse @ (centre + np.array([ty, tx]))
        warped = affine_transform(images[i].astype(np.float32), inverse, offset, order=1, cval=0.0)
        out[i] = np.clip(np.rint(warped), 0, 255).astype(images.dtype)
    return out


class DistortedPool:
    """The training set of the distortion experiment: each image plus ``copies`` random affine
    variants of it, fixed by ``seed`` (60,000 + 540,000 for the paper's 9). Index i < N is an
    original; index i >= N is copy i // N - 1 of image i % N. Variants are drawn when asked for,
    so the pool costs 40 bytes per variant, not 784."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, copies: int, seed: int):
        self.images, self.labels, self.copies = np.asarray(images), np.asarray(labels), int(copies)
        self.parameters = distortion_parameters(len(self.images) * self.copies, seed)

    def __len__(self) -> int:
        return len(self.images) * (self.copies + 1)

    def take(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images and labels of the pool entries ``index``."""
        index = np.asarray(index)
        n = len(self.images)
        image = index % n
        out = self.images[image].copy()
        variant = index >= n
        out[variant] = distort(self.images[image[variant]], self.parameters[index[variant] - n])
        return out, self.labels[image]


# --------------------------------------------------------------------------- splits

SPLITS = ("official", "validation", "kfold", "stratified_kfold")


@dataclass(frozen=True)
class Split:
    """Arrays for one experiment: train, the held-out set scored every epoch, and the final test set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_heldout: np.ndarray
    y_heldout: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    heldout_name: str  # "test", "validation" or "fold k"


def make_split(ds: Dataset, split: str = "official", fold: int = 0, n_folds: int = 5,
               split_seed: int = 0, validation_size: float = 0.1) -> Split:
    """``official``: 60k train / 10k test (held-out = test). ``validation``: the training set split
    stratified 90/10 (54,000/6,000 for MNIST) with ``split_seed``; test = official test.
    ``kfold`` / ``stratified_kfold``: fold ``fold`` of ``n_folds`` over train+test combined (70,000),
    via scikit-learn; held-out = test = the fold."""
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    if split == "official":
        return Split(ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.x_test, ds.y_test, "test")
    if split == "validation":
        x_tr, x_val, y_tr, y_val = train_test_split(ds.x_train, ds.y_train, test_size=validation_size,
                                                    stratify=ds.y_train, random_state=split_seed)
        return Split(x_tr, y_tr, x_val, y_val, ds.x_test, ds.y_test, "validation")
    if split in ("kfold", "stratified_kfold"):
        if not 0 <= fold < n_folds:
            raise ValueError(f"fold {fold} out of range for n_folds={n_folds} (0..{n_folds - 1})")
        x = np.concatenate([ds.x_train, ds.x_test])
        y = np.concatenate([ds.y_train, ds.y_test])
        cls = StratifiedKFold if split == "stratified_kfold" else KFold
        splitter = cls(n_splits=n_folds, shuffle=True, random_state=split_seed)
        train_idx, test_idx = list(splitter.split(x, y))[fold]
        return Split(x[train_idx], y[train_idx], x[test_idx], y[test_idx], x[test_idx], y[test_idx],
                     f"fold {fold}")
    raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
