"""The data layer on the real Fashion-MNIST, and its errors for missing or damaged files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from torchvision import transforms

from fmnist_helpers import data as data_module
from fmnist_helpers.data import (
    CLASSES,
    RAW_FILES,
    DataCorruptError,
    DataMissingError,
    DataRootError,
    load_fashion_mnist,
    load_tensors,
    resolve_data_root,
)


def test_classes_in_label_order():
    assert len(CLASSES) == 10
    assert CLASSES[0] == "T-shirt/top"
    assert CLASSES[9] == "Ankle boot"


def test_root_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("FMNIST_DATA", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_root() == tmp_path / "env"
    monkeypatch.delenv("FMNIST_DATA")
    monkeypatch.chdir(Path(__file__).parent)  # tests/: the course folder is found above it
    assert resolve_data_root() == Path(__file__).resolve().parent.parent / "data"


def test_real_train_and_test_sets(data_root):
    train = load_fashion_mnist(train=True, root=data_root, download=False)
    test = load_fashion_mnist(train=False, root=data_root, download=False)
    assert (len(train), len(test)) == (60000, 10000)
    assert train.targets.bincount().tolist() == [6000] * 10
    assert test.targets.bincount().tolist() == [1000] * 10
    assert int(train.targets[0]) == 9 and int(test.targets[0]) == 9  # both start with an ankle boot


def test_transform_gives_tensor_image(data_root):
    train = load_fashion_mnist(root=data_root, transform=transforms.ToTensor())
    image, label = train[0]
    assert image.shape == torch.Size([1, 28, 28])
    assert image.dtype == torch.float32 and 0.0 <= image.min() <= image.max() <= 1.0
    assert label == 9


def test_tensors_match_to_tensor(data_root):
    images, labels = load_tensors(train=False, root=data_root)
    assert images.shape == torch.Size([10000, 1, 28, 28]) and labels.shape == torch.Size([10000])
    item = load_fashion_mnist(train=False, root=data_root, transform=transforms.ToTensor())[123][0]
    assert torch.equal(images[123], item)
    assert images.mean().item() == pytest.approx(0.286849, abs=1e-5)


def _no_network(*args, **kwargs):
    raise urllib.error.URLError("no network in this test")


def test_missing_files_offline_name_files_md5s_and_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    with pytest.raises(DataMissingError) as info:
        load_fashion_mnist(train=True, root=tmp_path, download=True)
    message = str(info.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    for files in RAW_FILES.values():
        for f in files:
            assert f.gz_name in message and f.gz_md5 in message
    assert "FMNIST_DATA" in message
    assert "Traceback" not in message


def test_missing_files_without_download(tmp_path):
    with pytest.raises(DataMissingError, match="train-images-idx3-ubyte.gz"):
        load_fashion_mnist(train=False, root=tmp_path, download=False)


def _copy_raw(data_root: Path, target: Path, gz: bool = False) -> Path:
    """Copy the four IDX files (or the four .gz files) into ``target``; return its raw folder."""
    raw = target / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in RAW_FILES[True] + RAW_FILES[False]:
        name = f.gz_name if gz else f.name
        shutil.copy(data_root / "FashionMNIST" / "raw" / name, raw / name)
    return raw


def test_flipped_byte_is_refused(data_root, tmp_path):
    raw = _copy_raw(data_root, tmp_path)
    path = raw / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataCorruptError, match="md5"):
        load_fashion_mnist(train=False, root=tmp_path, download=False)


def test_truncated_file_is_refused(data_root, tmp_path):
    raw = _copy_raw(data_root, tmp_path)
    path = raw / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataCorruptError, match="truncated"):
        load_fashion_mnist(train=False, root=tmp_path, download=False)


def test_wrong_header_is_refused(data_root, tmp_path):
    raw = _copy_raw(data_root, tmp_path)
    images = raw / "t10k-images-idx3-ubyte"
    data = bytearray(images.read_bytes())
    data[0:4] = (2049).to_bytes(4, "big")  # a label file's magic number on an image file
    images.write_bytes(bytes(data))
    with pytest.raises(DataCorruptError, match="IDX header"):
        load_fashion_mnist(train=False, root=tmp_path, download=False)


def test_corrupt_gz_is_refused(data_root, tmp_path):
    raw = _copy_raw(data_root, tmp_path, gz=True)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not a gzip file")
    with pytest.raises(DataCorruptError, match="t10k-labels-idx1-ubyte.gz"):
        load_fashion_mnist(train=False, root=tmp_path, download=False)


def test_gz_only_copy_is_unpacked_and_loads(data_root, tmp_path):
    _copy_raw(data_root, tmp_path, gz=True)
    assert len(load_fashion_mnist(train=False, root=tmp_path, download=False)) == 10000


def test_first_runs_at_once_unpack_the_same_gz_folder_without_clashing(data_root, tmp_path):
    """Three first runs started together on a writable folder of .gz files: each unpacks through a
    partial file of its own, so none fails and no partial file is left behind."""
    raw = _copy_raw(data_root, tmp_path, gz=True)
    load = ("import sys; from fmnist_helpers.data import load_tensors; "
            "images, _ = load_tensors(train=True, root=sys.argv[1], download=False); "
            "print(tuple(images.shape))")
    runs = [subprocess.Popen([sys.executable, "-c", load, str(tmp_path)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(3)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert all("(60000, 1, 28, 28)" in output for output in outputs), outputs
    assert not list(raw.glob("*.partial"))
    assert oct((raw / "train-images-idx3-ubyte").stat().st_mode & 0o777) == oct(0o644)


def test_read_only_gz_folder_is_unpacked_to_a_cache(data_root, tmp_path, monkeypatch):
    """A classroom's shared, read-only copy of the four .gz files: unpacked once into a cache."""
    shared = tmp_path / "shared"
    raw = _copy_raw(data_root, shared, gz=True)
    monkeypatch.setattr(data_module, "_writable", lambda folder: folder != raw)  # as on a read-only mount
    cache = tmp_path / "cache"
    monkeypatch.setenv("FMNIST_CACHE", str(cache))
    images, labels = load_tensors(train=False, root=shared, download=False)
    assert images.shape == (10000, 1, 28, 28) and labels.bincount().tolist() == [1000] * 10
    gz_names = sorted(f.gz_name for f in RAW_FILES[True] + RAW_FILES[False])
    assert sorted(p.name for p in raw.iterdir()) == gz_names  # the shared folder is untouched
    assert (cache / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


def test_read_only_gz_folder_without_a_writable_cache_says_what_to_do(data_root, tmp_path,
                                                                       monkeypatch):
    shared = tmp_path / "shared"
    raw = _copy_raw(data_root, shared, gz=True)
    monkeypatch.setattr(data_module, "_writable", lambda folder: folder != raw)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FMNIST_CACHE", str(blocker / "cache"))
    with pytest.raises(DataRootError, match=r"holds only \.gz files and they cannot be unpacked"
                                            r".*gunzip -k .*FMNIST_CACHE"):
        load_tensors(train=False, root=shared, download=False)
