import pickle
import struct
import time

import numpy as np
import pytest
import torch
from PIL import Image

from reprobook import data, provenance


def write_idx(path, array: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_mnist(root, n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    arrays = dict(
        x_train=rng.integers(0, 256, (n_train, 28, 28)),
        y_train=np.arange(n_train) % 10,
        x_test=rng.integers(0, 256, (n_test, 28, 28)),
        y_test=(np.arange(n_test) * 3) % 10,
    )
    raw = root / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", arrays["x_train"])
    write_idx(raw / "train-labels-idx1-ubyte", arrays["y_train"])
    write_idx(raw / "t10k-images-idx3-ubyte", arrays["x_test"])
    write_idx(raw / "t10k-labels-idx1-ubyte", arrays["y_test"])
    return arrays


# --- tiny fakes -------------------------------------------------------------------------------


def test_mnist_from_idx_files(isolated_data):
    arrays = fake_mnist(isolated_data)
    d = data.load("mnist")
    assert d.x_train.shape == (20, 1, 28, 28) and d.x_train.dtype == torch.uint8
    assert torch.equal(
        d.x_train[:, 0], torch.from_numpy(arrays["x_train"].astype(np.uint8))
    )
    assert torch.equal(d.y_test, torch.from_numpy(arrays["y_test"]))


def test_cifar_from_image_folder_uses_torchvision_class_order(isolated_data):
    rng = np.random.default_rng(0)
    expected = {}
    for split in ("train", "test"):
        for label, name in enumerate(data.CIFAR10_CLASSES):
            folder = isolated_data / "cifar10" / split / name
            folder.mkdir(parents=True)
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(
                folder / "0000.png"
            )  # lossless, so pixels compare exactly
            expected[(split, label)] = pixels
    d = data.load("cifar10")
    assert (
        d.x_train.shape == (10, 3, 32, 32)
        and d.classes[0] == "airplane"
        and d.classes[9] == "truck"
    )
    for i, label in enumerate(d.y_train.tolist()):
        assert np.array_equal(
            d.x_train[i].permute(1, 2, 0).numpy(), expected[("train", label)]
        )
    assert sorted(d.y_test.tolist()) == list(range(10))
    assert d.encoding == "" and data.read_so_far()["cifar10"]["encoding"] == ""


def test_a_tree_of_jpeg_files_is_read_as_a_lossy_copy_and_recorded_so(isolated_data):
    for split in ("train", "test"):
        for name in data.CIFAR10_CLASSES:
            folder = isolated_data / "cifar10" / split / name
            folder.mkdir(parents=True)
            Image.new("RGB", (32, 32), (200, 10, 10)).save(
                folder / "0000.jpg", quality=75
            )
    d = data.load("cifar10")
    assert d.encoding == "JPEG" and "JPEG files" in repr(d)
    assert data.read_so_far()["cifar10"] == dict(
        source=str(isolated_data / "cifar10"), encoding="JPEG"
    )
    assert provenance.collect()["datasets"]["cifar10"]["encoding"] == "JPEG"


def test_cifar_from_torchvision_pickled_batches(isolated_data):
    folder = isolated_data / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
            "labels": [1, 2, 3, 4],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    d = data.load("cifar10")
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
    assert d.y_train.tolist()[:4] == [1, 2, 3, 4]
    assert d.encoding == ""  # the original pixels


def test_second_load_comes_from_the_cache(isolated_data):
    fake_mnist(isolated_data)
    first = data.load("mnist")
    for f in (
        isolated_data / "MNIST" / "raw"
    ).iterdir():  # the cache must not re-read the source
        f.write_bytes(f.read_bytes()[:16])
    second = data.load("mnist")
    assert torch.equal(first.x_train, second.x_train)


def test_missing_data_names_every_place_and_the_fix(isolated_data):
    with pytest.raises(data.MissingDataError) as err:
        data.load("cifar10")
    message = str(err.value)
    assert str(isolated_data / "cifar-10-batches-py") in message
    assert str(isolated_data / "cifar10") in message
    assert "REPROBOOK_DOWNLOAD=0" in message and "set REPROBOOK_DATA" in message


def test_a_relative_data_folder_is_shown_where_it_was_read(isolated_data, monkeypatch):
    """A relative $REPROBOOK_DATA is read from this process's folder (a Jupyter kernel's is the
    notebook's): the message shows where that was and asks for an absolute path."""
    monkeypatch.chdir(isolated_data)
    monkeypatch.setenv("REPROBOOK_DATA", "../elsewhere")
    with pytest.raises(data.MissingDataError) as err:
        data.load("mnist")
    message = str(err.value)
    assert f"read as {isolated_data / '../elsewhere/MNIST/raw'}" in message
    assert "Fix: set REPROBOOK_DATA to an absolute path to a folder holding" in message
    monkeypatch.setenv("REPROBOOK_DATA", str(isolated_data))  # absolute: no such advice
    with pytest.raises(data.MissingDataError) as err:
        data.load("mnist")
    assert "read as" not in str(err.value) and "absolute" not in str(err.value)


def test_failed_download_is_reported(isolated_data, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("no route to host")

    monkeypatch.setenv("REPROBOOK_DOWNLOAD", "1")
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(data.MissingDataError, match="no route to host"):
        data.load("mnist")


def test_unknown_dataset():
    with pytest.raises(ValueError, match="choose one of mnist, cifar10"):
        data.load("imagenet")


def test_subset_is_balanced_and_seeded(isolated_data):
    fake_mnist(isolated_data, n_train=100, n_test=50)
    d = data.load("mnist")
    a, b, c = (
        d.subset(30, 10, seed=0),
        d.subset(30, 10, seed=0),
        d.subset(30, 10, seed=1),
    )
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert (
        len(a.y_train) == 30 and a.y_train.bincount(minlength=10).tolist() == [3] * 10
    )
    assert not torch.equal(a.x_train, c.x_train)
    assert d.subset(0, 0).x_train.shape == d.x_train.shape  # 0 keeps a split whole


# --- the real mirror --------------------------------------------------------------------------


def test_mnist_mirror_is_the_real_mnist(mirror):
    d = data.load("mnist")
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (
        10000,
        1,
        28,
        28,
    )
    assert d.y_train[0].item() == 5 and d.y_test[0].item() == 7
    assert abs(d.x_train.float().mean().item() / 255 - 0.1307) < 1e-3


def test_cifar_mirror_loads_all_images_and_caches(mirror):
    d = data.load(
        "cifar10"
    )  # decodes 60,000 JPEGs the first time (about 15-20 s), then cached
    assert d.x_train.shape == (50000, 3, 32, 32) and d.x_test.shape == (
        10000,
        3,
        32,
        32,
    )
    assert (
        d.y_train.bincount().tolist() == [5000] * 10
        and d.y_test.bincount().tolist() == [1000] * 10
    )
    means = d.x_train.float().mean((0, 2, 3)) / 255
    assert torch.allclose(means, torch.tensor([0.491, 0.482, 0.447]), atol=0.005)
    start = time.perf_counter()
    data.load("cifar10")
    assert time.perf_counter() - start < 1.0


def test_resized_and_grayscale(isolated_data):
    fake_mnist(isolated_data)
    d = data.load("mnist")
    small = d.resized(14)
    assert small.x_train.shape == (20, 1, 14, 14) and small.x_train.dtype == torch.uint8
    block = d.x_train[0, 0, :2, :2].float().mean()
    assert (
        abs(small.x_train[0, 0, 0, 0].item() - block.item()) <= 0.5
    )  # area average of each 2x2 block
    assert d.resized(28) is d
    rgb = data.ImageData(
        "cifar10",
        torch.full((2, 3, 4, 4), 100, dtype=torch.uint8),
        torch.zeros(2, dtype=torch.long),
        torch.full((1, 3, 4, 4), 200, dtype=torch.uint8),
        torch.zeros(1, dtype=torch.long),
        data.CIFAR10_CLASSES,
        "fake",
    )
    gray_train, gray_test = rgb.grayscale()
    assert (
        gray_train.shape == (2, 1, 4, 4)
        and (gray_train == 100).all()
        and (gray_test == 200).all()
    )


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "a" / "cache.npz"
    data.save_npz_atomic(target, x=np.arange(3))
    with pytest.raises(RuntimeError):
        with data.atomic_write(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    with np.load(target) as z:
        assert list(z["x"]) == [0, 1, 2]
    assert [p.name for p in target.parent.iterdir()] == [
        "cache.npz"
    ]  # no temporary left


def test_normaliser_standardises_uint8_images_per_channel():
    norm = data.normaliser((0.5, 0.0), (0.5, 1.0))
    x = torch.tensor([[[[255]], [[0]]]], dtype=torch.uint8)  # [1, 2, 1, 1]
    assert torch.allclose(norm(x).flatten(), torch.tensor([1.0, 0.0]))
