"""Image datasets as uint8 tensors: MNIST and CIFAR-10 from a local root, or torchvision's download.

Where a dataset is looked for, in order:

1. ``$REPROBOOK_DATA`` (a folder) holding torchvision's layout
   (``MNIST/raw/*-ubyte``, ``cifar-10-batches-py/``) or an ImageFolder tree
   (``cifar10/{train,test}/<class>/*.jpg``);
2. torchvision's own download into ``$REPROBOOK_CACHE/torchvision`` (default ``~/.cache/reprobook``),
   unless ``$REPROBOOK_DOWNLOAD=0``.

Decoded arrays are cached as ``.npz`` in ``$REPROBOOK_CACHE``, so a second load takes a fraction of a second.
An ImageFolder tree of JPEG files is a lossy copy (``ImageData.encoding``): its pixels are not the
original dataset's, and every results file names the datasets its run read and how (:func:`read_so_far`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
MNIST_CLASSES = tuple(str(d) for d in range(10))
# Per-channel mean and std of the training pixels in [0, 1]; used to normalise batches on the device.
STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
DATASETS = ("mnist", "cifar10")


class MissingDataError(FileNotFoundError):
    """A dataset was found nowhere; the message lists every place looked at and how to fix it."""


@dataclass(frozen=True)
class ImageData:
    """A labelled image dataset held as tensors: images ``uint8 [N, C, H, W]``, labels ``int64 [N]``."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    source: str
    encoding: str = ""  # "JPEG": decoded from lossy files, not the original pixels; "": the original

    @property
    def mean(self) -> tuple[float, ...]:
        return STATS[self.name][0]

    @property
    def std(self) -> tuple[float, ...]:
        return STATS[self.name][1]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def subset(
        self, n_train: int | None = None, n_test: int | None = None, seed: int = 0
    ) -> ImageData:
        """A fixed, class-balanced, seeded subset (``None`` or 0 keeps a split whole)."""
        return balanced_subset(self, n_train, n_test, seed)

    def resized(self, size: int) -> ImageData:
        """Every image area-averaged to ``size``×``size`` (still uint8): a cheaper task for small presets."""
        if size == self.shape[-1]:
            return self

        def shrink(x: torch.Tensor) -> torch.Tensor:
            return (
                F.interpolate(x.float(), size=(size, size), mode="area")
                .round()
                .clamp(0, 255)
                .to(torch.uint8)
            )

        return replace(
            self,
            x_train=shrink(self.x_train),
            y_train=self.y_train,
            x_test=shrink(self.x_test),
        )

    def grayscale(self) -> torch.Tensor:
        """(train, test) images as one luminance channel (ITU-R 601 weights), uint8 [N, 1, H, W]."""
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)

        def luma(x: torch.Tensor) -> torch.Tensor:
            if x.shape[1] == 1:
                return x
            return (
                (x.float() * weights)
                .sum(1, keepdim=True)
                .round()
                .clamp(0, 255)
                .to(torch.uint8)
            )

        return luma(self.x_train), luma(self.x_test)

    def __repr__(self) -> str:
        return (
            f"ImageData({self.name}: train {tuple(self.x_train.shape)}, test {tuple(self.x_test.shape)}, "
            f"from {self.source}{', ' + self.encoding + ' files' if self.encoding else ''})"
        )


def normaliser(mean, std, device: torch.device | str = "cpu"):
    """uint8 images → float, per-channel standardised: ``(x/255 − mean) / std`` (mean/std in [0, 1] units)."""
    m = torch.tensor(list(mean), device=device).view(-1, 1, 1)  # [C, 1, 1]
    s = torch.tensor(list(std), device=device).view(-1, 1, 1)
    return lambda x: (x.to(device).float() / 255 - m) / s


def balanced_subset(split, n_train: int | None, n_test: int | None, seed: int = 0):
    """``split`` (a dataclass with ``x_train, y_train, x_test, y_test``) cut to a fixed, seeded,
    class-balanced subset of each split (``None`` or 0 keeps a split whole)."""
    g = torch.Generator().manual_seed(seed)
    tr = balanced_indices(split.y_train, n_train, g)
    te = balanced_indices(split.y_test, n_test, g)
    return replace(
        split,
        x_train=split.x_train[tr],
        y_train=split.y_train[tr],
        x_test=split.x_test[te],
        y_test=split.y_test[te],
    )


def balanced_indices(
    labels: torch.Tensor, n: int | None, generator: torch.Generator
) -> torch.Tensor:
    """Sorted indices of ``n`` examples with the classes as equal in number as ``n`` allows."""
    if not n or n >= len(labels):
        return torch.arange(len(labels))
    classes = labels.unique()
    per_class = [
        n // len(classes) + (i < n % len(classes)) for i in range(len(classes))
    ]
    picks = []
    for c, k in zip(classes, per_class):
        members = (labels == c).nonzero().flatten()
        picks.append(members[torch.randperm(len(members), generator=generator)[:k]])
    return torch.cat(picks).sort().values


# ---------------------------------------------------------------------------------------------
# Configuration


def data_root() -> Path | None:
    root = os.environ.get("REPROBOOK_DATA")
    return Path(root).expanduser() if root else None


def cache_dir() -> Path:
    return Path(os.environ.get("REPROBOOK_CACHE", "~/.cache/reprobook")).expanduser()


def download_allowed() -> bool:
    return os.environ.get("REPROBOOK_DOWNLOAD", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "",
    )


# ---------------------------------------------------------------------------------------------
# Readers for the on-disk layouts


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (MNIST's format): magic, dims as big-endian int32, then uint8 data."""
    raw = path.read_bytes()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def read_mnist_raw(folder: Path) -> dict[str, np.ndarray]:
    """``folder`` is torchvision's ``MNIST/raw``."""
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        arrays[f"x_{split}"] = read_idx(folder / f"{prefix}-images-idx3-ubyte")[:, None]
        arrays[f"y_{split}"] = read_idx(folder / f"{prefix}-labels-idx1-ubyte").astype(
            np.int64
        )
    return arrays


def read_cifar_batches(folder: Path) -> dict[str, np.ndarray]:
    """``folder`` is torchvision's ``cifar-10-batches-py`` (the original pickled batches)."""

    def load(names):
        xs, ys = [], []
        for name in names:
            with open(folder / name, "rb") as f:
                batch = pickle.load(f, encoding="latin1")
            xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch["labels"], dtype=np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    x_train, y_train = load([f"data_batch_{i}" for i in range(1, 6)])
    x_test, y_test = load(["test_batch"])
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def read_image_folder(folder: Path, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``folder`` holds ``{train,test}/<class>/<image>``; class ``i`` is ``classes[i]``."""
    from PIL import Image

    def decode(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)

    arrays = {}
    for split in ("train", "test"):
        paths, labels = [], []
        for label, name in enumerate(classes):
            files = sorted(p for p in (folder / split / name).iterdir() if p.is_file())
            paths += files
            labels += [label] * len(files)
        with ThreadPoolExecutor(
            max_workers=os.cpu_count() or 2
        ) as pool:  # PIL releases the GIL
            images = list(pool.map(decode, paths, chunksize=256))
        arrays[f"x_{split}"] = np.stack(images).transpose(0, 3, 1, 2).copy()
        arrays[f"y_{split}"] = np.asarray(labels, dtype=np.int64)
    return arrays


# ---------------------------------------------------------------------------------------------
# Where each dataset can come from: (description, path that must exist, reader)


def _local_candidates(name: str, root: Path) -> list[tuple[Path, callable]]:
    if name == "mnist":
        return [(root / "MNIST" / "raw", read_mnist_raw)]
    return [
        (root / "cifar-10-batches-py", read_cifar_batches),
        (root / "cifar10", lambda p: read_image_folder(p, CIFAR10_CLASSES)),
    ]


def _complete(name: str, path: Path) -> bool:
    if name == "mnist":
        return all(
            (path / f"{p}-{k}").is_file()
            for p in ("train", "t10k")
            for k in ("images-idx3-ubyte", "labels-idx1-ubyte")
        )
    if path.name == "cifar-10-batches-py":
        return (path / "test_batch").is_file() and (path / "data_batch_5").is_file()
    return all(
        (path / split / c).is_dir()
        for split in ("train", "test")
        for c in CIFAR10_CLASSES
    )


def _download(name: str) -> dict[str, np.ndarray]:
    import torchvision

    target = cache_dir() / "torchvision"
    if name == "mnist":
        for train in (True, False):
            torchvision.datasets.MNIST(target, train=train, download=True)
        return read_mnist_raw(target / "MNIST" / "raw")
    torchvision.datasets.CIFAR10(target, train=True, download=True)
    return read_cifar_batches(target / "cifar-10-batches-py")


def _cache_file(name: str, source: Path | str) -> Path:
    key = hashlib.sha1(str(source).encode()).hexdigest()[:10]
    return cache_dir() / f"{name}-{key}.npz"


def _cached_read(name: str, source: Path | str, read) -> dict[str, np.ndarray]:
    cached = _cache_file(name, source)
    if cached.is_file():
        with np.load(cached) as z:
            return {k: z[k] for k in z.files}
    arrays = read()
    save_npz_atomic(cached, compressed=False, **arrays)
    return arrays


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; what is written there replaces ``path`` only when the block
    ends without an error, so a half-written cache file is never read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def make_writable_folder(folder: Path) -> None:
    """Create ``folder`` and prove it can be written (a probe file); ``OSError`` otherwise, before any
    compute spends time on results it could not keep."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".write-test"
    probe.write_text("")
    probe.unlink()


def stamp(seconds: float) -> str:
    """A UTC time as folder names carry it: ``20261207T071200Z``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def first_free(folder: Path) -> Path:
    """``folder``, or ``folder-2``, ``folder-3``, ... : the first name nothing holds yet (two runs
    that ended in the same second keep two folders)."""
    free, copy = folder, 1
    while free.exists():
        copy += 1
        free = folder.with_name(f"{folder.name}-{copy}")
    return free


def save_npz_atomic(path: Path, compressed: bool = True, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` to the ``.npz`` file ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
    return path


def load(name: str, download: bool | None = None) -> ImageData:
    """Load ``"mnist"`` or ``"cifar10"`` from the first place that has it (see the module docstring)."""
    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}"
        )
    download = download_allowed() if download is None else download
    looked = []
    root = data_root()
    if root is None:
        looked.append("$REPROBOOK_DATA is not set")
    else:
        for path, reader in _local_candidates(name, root):
            if _complete(name, path):
                arrays = _cached_read(name, path.resolve(), lambda: reader(path))
                return _to_image_data(name, arrays, str(path), _encoding(path))
            where = "" if path.is_absolute() else f", read as {path.absolute()}"
            looked.append(f"{path} (not found or incomplete{where})")
    if download:
        try:
            arrays = _cached_read(name, "torchvision-download", lambda: _download(name))
            return _to_image_data(
                name, arrays, f"torchvision download in {cache_dir() / 'torchvision'}"
            )
        except Exception as err:  # no network, a blocked host, a bad checksum ...
            looked.append(
                f"torchvision download into {cache_dir() / 'torchvision'} failed: {err}"
            )
    else:
        looked.append("torchvision download is switched off ($REPROBOOK_DOWNLOAD=0)")
    layout = (
        "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte"
        if name == "mnist"
        else "cifar-10-batches-py/ (torchvision) or cifar10/{train,test}/<class>/*.jpg (ImageFolder)"
    )
    # a relative $REPROBOOK_DATA is read from the folder this process runs in: a Jupyter kernel's
    # is the notebook's, not the shell's that set it
    relative = root is not None and not root.is_absolute()
    raise MissingDataError(
        f"dataset {name!r} was not found. Looked at:\n  - "
        + "\n  - ".join(looked)
        + "\nFix: set REPROBOOK_DATA to "
        + ("an absolute path to " if relative else "")
        + f"a folder holding {layout}, "
        "or allow the download (REPROBOOK_DOWNLOAD=1) on a machine with internet access."
    )


def _encoding(path: Path) -> str:
    """``"JPEG"`` where an ImageFolder tree holds JPEG files, ``""`` for the original arrays."""
    first = next((p for p in path.glob("train/*/*") if p.is_file()), None)
    return "JPEG" if first and first.suffix.lower() in (".jpg", ".jpeg") else ""


# every dataset this process has loaded: name -> where from and how (results files record it)
_READ: dict[str, dict[str, str]] = {}


def read_so_far() -> dict[str, dict[str, str]]:
    """``{name: {"source": ..., "encoding": ...}}`` of every dataset :func:`load` returned here."""
    return {name: dict(where) for name, where in _READ.items()}


def _to_image_data(
    name: str, arrays: dict[str, np.ndarray], source: str, encoding: str = ""
) -> ImageData:
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    classes = MNIST_CLASSES if name == "mnist" else CIFAR10_CLASSES
    _READ[name] = dict(source=source, encoding=encoding)
    return ImageData(
        name,
        t["x_train"],
        t["y_train"],
        t["x_test"],
        t["y_test"],
        classes,
        source,
        encoding,
    )


# ---------------------------------------------------------------------------------------------
# ImageNet (the full presets of zeroq): a local folder, never downloaded

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_TRAIN_IMAGES = 1_281_167


def imagenet_root() -> Path:
    """``$REPROBOOK_IMAGENET``: a folder with ``val/<wnid>/*.JPEG`` (and optionally ``train/<wnid>/...``)."""
    root = os.environ.get("REPROBOOK_IMAGENET")
    if not root:
        raise MissingDataError(
            "ImageNet is not available: set REPROBOOK_IMAGENET to a folder holding "
            "val/<wnid>/*.JPEG (the 50,000 validation images in 1,000 class folders) and, "
            "for the real-data calibration batch, train/<wnid>/*.JPEG"
        )
    path = Path(root).expanduser()
    if not (path / "val").is_dir():
        raise MissingDataError(
            f"$REPROBOOK_IMAGENET={path} has no val/ folder of class subfolders"
        )
    return path


def imagenet_images(
    split: str, n: int | None = None, seed: int = 0, size: int = 224
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images of ``split`` (None: all), resized to 256 (short side) and centre-cropped to ``size``,
    as uint8 ``[N, 3, size, size]`` with labels in torchvision's class order (sorted wnids). Decoded by
    a thread pool; 50,000 validation images take about 7.5 GB."""
    from PIL import Image
    from torchvision.transforms import functional as TF

    folder = imagenet_root() / split
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if len(classes) != 1000:
        raise MissingDataError(
            f"{folder} should hold 1000 class folders, found {len(classes)}"
        )
    files = [
        (p, label)
        for label, wnid in enumerate(classes)
        for p in sorted((folder / wnid).iterdir())
    ]
    if n and n < len(files):
        pick = (
            torch.randperm(len(files), generator=torch.Generator().manual_seed(seed))[
                :n
            ]
            .sort()
            .values
        )
        files = [files[i] for i in pick]

    def decode(item):
        with Image.open(item[0]) as im:
            im = TF.center_crop(
                TF.resize(im.convert("RGB"), round(size * 256 / 224)), size
            )
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
        images = list(pool.map(decode, files, chunksize=64))
    return torch.from_numpy(np.stack(images)), torch.tensor(
        [label for _, label in files]
    )
