"""Fashion-MNIST on disk: where it lives, checking it, and loading it.

Data root resolution: an explicit ``root`` argument, else ``$FMNIST_DATA``, else ``data/`` in the
course folder. Every loader checks the raw files first, so a missing or corrupt download fails
with one readable message instead of a urllib traceback or, worse, silently wrong tensors.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import tempfile
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torchvision import datasets
from torchvision.datasets.utils import calculate_md5, check_integrity

from .paths import course_dir, resolve_env_path

CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
"""The ten class names, in label order (label 0 is ``CLASSES[0]``)."""

DOWNLOAD_PAGE = "https://github.com/zalandoresearch/fashion-mnist#get-the-data"


class DataMissingError(FileNotFoundError):
    """Fashion-MNIST files are missing and could not be downloaded."""


class DataCorruptError(RuntimeError):
    """A Fashion-MNIST file is on disk but is not the published file."""


class DataRootError(ValueError):
    """The data root names something that cannot hold the data (a file, say)."""


@dataclass(frozen=True)
class RawFile:
    """One published Fashion-MNIST file and what it must look like."""

    name: str  # the uncompressed IDX file name, e.g. "train-images-idx3-ubyte"
    gz_md5: str  # md5 of the published .gz (the one torchvision checks)
    md5: str  # md5 of the uncompressed IDX file
    magic: int  # 2051 for images, 2049 for labels
    count: int  # number of items

    @property
    def gz_name(self) -> str:
        return self.name + ".gz"

    @property
    def size(self) -> int:
        """Exact size in bytes of the uncompressed file."""
        header = 16 if self.magic == 2051 else 8
        return header + self.count * (28 * 28 if self.magic == 2051 else 1)


RAW_FILES: dict[bool, tuple[RawFile, RawFile]] = {
    True: (
        RawFile("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "f4a8712d7a061bf5bd6d2ca38dc4d50a", 2051, 60000),
        RawFile("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe",
                "9018921c3c673c538a1fc5bad174d6f9", 2049, 60000),
    ),
    False: (
        RawFile("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79",
                "8181f5470baa50b63fa0f6fddb340f0a", 2051, 10000),
        RawFile("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310",
                "15d484375f8d13e6eb1aabb0c3f46965", 2049, 10000),
    ),
}
"""The four published files, keyed by ``train``."""


def default_data_root() -> Path:
    """``data/`` in the course folder: where a first run downloads Fashion-MNIST."""
    return course_dir() / "data"


def resolve_data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root: ``root`` if given, else ``$FMNIST_DATA``, else ``default_data_root()``.

    The data root is the folder that contains ``FashionMNIST/raw/``, as torchvision expects. A
    relative ``root`` is taken against the working directory; a relative ``$FMNIST_DATA`` against
    the folder the command was started in (see ``paths.resolve_env_path``). A root that is a file
    raises ``DataRootError``.
    """
    if root is not None and str(root) != "":
        path, source = Path(root).expanduser().resolve(), "data_root"
    elif os.environ.get("FMNIST_DATA"):
        path, source = resolve_env_path(os.environ["FMNIST_DATA"]), "FMNIST_DATA"
    else:
        path, source = default_data_root(), "the default data root"
    if path.exists() and not path.is_dir():
        raise DataRootError(
            f"{source} names the file {path}; it must name the folder that contains "
            "FashionMNIST/raw/ (the folder above FashionMNIST, not a file in it).")
    return path


def raw_folder(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder the raw files live in: ``<data root>/FashionMNIST/raw``."""
    return resolve_data_root(root) / "FashionMNIST" / "raw"


def missing_data_message(folder: Path) -> str:
    """The text that tells a user which files to fetch and where to put them."""
    lines = [
        f"Fashion-MNIST is not in {folder} and could not be downloaded.",
        f"Download these four files from {DOWNLOAD_PAGE}",
        f"and put them in {folder}/ (md5 of each file in brackets):",
    ]
    for files in RAW_FILES.values():
        lines += [f"  {f.gz_name}  (md5 {f.gz_md5})" for f in files]
    lines.append(
        "Or point the course at an existing copy: set FMNIST_DATA (or pass data_root) to the folder "
        "that contains FashionMNIST/raw/."
    )
    return "\n".join(lines)


@lru_cache(maxsize=32)
def _check_idx_file(path: Path, expected: RawFile, size: int, mtime_ns: int) -> None:
    # size and mtime are part of the cache key so that a file replaced on disk is checked again
    if size != expected.size:
        raise DataCorruptError(
            f"{path} has {size:,} bytes, expected {expected.size:,}: the file is truncated or "
            f"not {expected.name}. Delete it and download it again."
        )
    with path.open("rb") as handle:
        magic, count = struct.unpack(">II", handle.read(8))
    if (magic, count) != (expected.magic, expected.count):
        raise DataCorruptError(
            f"{path} has IDX header (magic {magic}, {count} items), expected "
            f"(magic {expected.magic}, {expected.count} items). Delete it and download it again."
        )
    actual = calculate_md5(path)
    if actual != expected.md5:
        raise DataCorruptError(
            f"{path} has md5 {actual}, expected {expected.md5}: the file is corrupt. "
            "Delete it and download it again."
        )


@lru_cache(maxsize=32)
def _check_gz_file(path: Path, expected: RawFile, size: int, mtime_ns: int) -> None:
    if not check_integrity(path, expected.gz_md5):  # torchvision's own md5 check of a download
        raise DataCorruptError(
            f"{path} has md5 {calculate_md5(path)}, expected {expected.gz_md5}: the download is "
            "corrupt or incomplete. Delete it and download it again."
        )


def check_raw_files(train: bool, root: str | os.PathLike[str] | None = None) -> bool:
    """Check the raw files of one split; return False if any is missing.

    An uncompressed IDX file must have the right size, header and md5; where only the ``.gz`` is
    present it must have the published md5. Raises ``DataCorruptError`` otherwise.
    """
    folder = raw_folder(root)
    for expected in RAW_FILES[train]:
        idx_path, gz_path = folder / expected.name, folder / expected.gz_name
        if idx_path.is_file():
            stat = idx_path.stat()
            _check_idx_file(idx_path, expected, stat.st_size, stat.st_mtime_ns)
        elif gz_path.is_file():
            stat = gz_path.stat()
            _check_gz_file(gz_path, expected, stat.st_size, stat.st_mtime_ns)
        else:
            return False
    return True


def ensure_fashion_mnist(
    root: str | os.PathLike[str] | None = None, download: bool = True
) -> Path:
    """Make sure all four files are on disk and intact (torchvision needs both splits); return the root.

    Downloads with torchvision when files are missing and ``download`` is true. Raises
    ``DataMissingError`` (files absent, no download possible) or ``DataCorruptError``.
    """
    data_root = resolve_data_root(root)
    folder = raw_folder(data_root)

    def complete() -> bool:
        return all([check_raw_files(True, data_root), check_raw_files(False, data_root)])

    if not complete():
        if not download:
            raise DataMissingError(missing_data_message(folder))
        try:
            datasets.FashionMNIST(str(data_root), train=True, download=True)
        except (urllib.error.URLError, OSError, RuntimeError) as error:
            raise DataMissingError(missing_data_message(folder)) from error
        if not complete():
            raise DataMissingError(missing_data_message(folder))
    return _root_with_idx_files(data_root)


def unpack_cache_dir() -> Path:
    """Where ``.gz`` files from a read-only data folder are unpacked: ``$FMNIST_CACHE``, else
    ``$XDG_CACHE_HOME/fmnist-course``, else ``~/.cache/fmnist-course``."""
    if os.environ.get("FMNIST_CACHE"):
        return resolve_env_path(os.environ["FMNIST_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().resolve() / "fmnist-course"


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)  # False on a read-only file system, even for root


def _unpack(packed_path: Path, destination: Path) -> None:
    """Unpack ``packed_path`` to ``destination`` through a partial file of its own, then
    rename it into place: never a half-written IDX file under the real name, and two first runs
    unpacking at once never write into, or rename away, each other's partial file."""
    handle, name = tempfile.mkstemp(dir=destination.parent, prefix=f"{destination.name}.",
                                    suffix=".partial")
    partial = Path(name)
    try:
        with gzip.open(packed_path, "rb") as packed, os.fdopen(handle, "wb") as out:
            out.write(packed.read())
        partial.chmod(0o644)  # mkstemp's 0600 would keep a shared cache from the other users
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def _root_with_idx_files(data_root: Path) -> Path:
    """A data root whose raw folder holds all four checked IDX files (torchvision reads those).

    A ``.gz`` without its IDX file is unpacked beside it; where that folder is read-only (a shared
    classroom copy), into ``unpack_cache_dir()``, which then becomes the data root.
    """
    folder = raw_folder(data_root)
    files = RAW_FILES[True] + RAW_FILES[False]
    if all((folder / f.name).is_file() for f in files):
        return data_root
    target_root = data_root if _writable(folder) else unpack_cache_dir()
    target = raw_folder(target_root)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for expected in files:
            source, destination = folder / expected.name, target / expected.name
            if source.is_file() and source != destination:
                if not destination.is_file():
                    with contextlib.suppress(FileExistsError):  # another run linked it first
                        destination.symlink_to(source)
            elif not destination.is_file():
                _unpack(folder / expected.gz_name, destination)
            stat = destination.stat()
            _check_idx_file(destination, expected, stat.st_size, stat.st_mtime_ns)
    except OSError as error:
        raise DataRootError(
            f"{folder} holds only .gz files and they cannot be unpacked ({error.strerror}: "
            f"{error.filename}). Unpack them there (gunzip -k {folder}/*.gz) or set FMNIST_CACHE "
            "to a writable folder.") from error
    return target_root


def load_fashion_mnist(
    train: bool = True,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    transform: Callable | None = None,
) -> datasets.FashionMNIST:
    """Return torchvision's ``FashionMNIST`` for one split, after checking its files.

    ``transform`` is applied per item (for example ``transforms.ToTensor()``).
    """
    data_root = ensure_fashion_mnist(root, download)
    return datasets.FashionMNIST(str(data_root), train=train, download=False, transform=transform)


def load_tensors(
    train: bool = True,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return one whole split as tensors: images ``[N, 1, 28, 28]`` float in [0, 1], labels ``[N]``.

    The same numbers ``ToTensor()`` gives item by item, computed once for the whole split.
    """
    dataset = load_fashion_mnist(train=train, root=root, download=download)
    images = dataset.data.unsqueeze(1).float().div_(255)
    return images, dataset.targets.clone()
