"""Sequence classification tasks of the Long Range Arena (Tay et al., 2021) as token-id tensors.

* **ListOps** — generated here with LRA's algorithm (``long-range-arena/lra_benchmarks/data/listops.py``):
  nested expressions over the digits 0-9 with the operators MAX, MIN, MED (integer median) and SM
  (sum mod 10), e.g. ``[MAX 2 9 [MIN 4 7 ] 0 ]`` → 9. A node at depth < ``max_depth`` is a digit with
  probability 0.75, else an operator with ``randint(2, max_args)`` children generated recursively;
  at ``max_depth`` it is a digit. A tree's length counts the operator token and the closing bracket
  plus its children. Trees with ``min_length < length < max_length`` are kept, deduplicated, and split
  into disjoint train and test sets. LRA uses ``max_depth=10, max_args=10``, lengths 500-2000; the
  parameters scale it down. Seeded, cached as ``.npz`` under ``$REPROBOOK_CACHE/listops``.
* **Image** — CIFAR-10 as sequences of grayscale pixels (row-major), from ``data.load("cifar10")``,
  area-resized for small presets; token id = pixel + 1 (LRA uses length 1024 at 32×32).
* **Text** — byte-level IMDb sentiment: the Stanford ``aclImdb`` reviews as UTF-8 bytes, id = byte + 1,
  0 = padding, truncated to ``max_len`` (LRA: 1K in the released code, 4K in the paper). Looked for
  in ``$REPROBOOK_DATA/aclImdb``, then in the cache, then downloaded from Stanford only when asked to.

Every task is a :class:`SequenceData` with ``x_train`` (int64 token ids [N, T], 0 = padding),
``y_train``, ``x_test``, ``y_test``: :func:`reprobook.train.fit` feeds it to the model as it is.
A task whose data cannot be found raises :class:`TaskUnavailable` (a ``MissingDataError``) saying
where it looked and how to fix it.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torchvision.datasets.utils import download_and_extract_archive

from ... import data

TASKS = ("listops", "image", "text")

# ListOps vocabulary: 0 is padding, digits 0-9 are ids 1-10, then the operators and the closing bracket.
OPERATORS = ("[MAX", "[MIN", "[MED", "[SM")
END = "]"
LISTOPS_VOCAB = ("<pad>",) + tuple(str(d) for d in range(10)) + OPERATORS + (END,)
TOKEN_ID = {t: i for i, t in enumerate(LISTOPS_VOCAB)}
VALUE_P = 0.25  # LRA: below max_depth a node is an operator with probability 0.25

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"


class TaskUnavailable(data.MissingDataError):
    """A task's data was found nowhere (and was not downloaded); the message says where it looked."""


@dataclass(frozen=True)
class SequenceData:
    """A labelled sequence task: token ids int64 [N, T] (0 = padding), labels int64 [N]."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    vocab_size: int
    classes: tuple[str, ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def max_len(self) -> int:
        return int(self.x_train.shape[1])

    def lengths(self, split: str = "train") -> torch.Tensor:
        x = self.x_train if split == "train" else self.x_test
        return (x != 0).sum(1)

    def class_shares(self) -> torch.Tensor:
        """Fraction of the training set in each class, [classes]."""
        counts = torch.bincount(self.y_train, minlength=self.num_classes)
        return counts / len(self.y_train)

    def majority_accuracy(self) -> float:
        """Test accuracy of always predicting the most frequent training class."""
        majority = torch.bincount(self.y_train, minlength=self.num_classes).argmax()
        return float((self.y_test == majority).float().mean())

    def subset(
        self, n_train: int | None = None, n_test: int | None = None, seed: int = 0
    ) -> SequenceData:
        """A fixed, class-balanced, seeded subset (``None`` or 0 keeps a split whole)."""
        return data.balanced_subset(self, n_train, n_test, seed)

    def __repr__(self) -> str:
        return (
            f"SequenceData({self.name}: train {tuple(self.x_train.shape)}, test {tuple(self.x_test.shape)}, "
            f"vocab {self.vocab_size}, {self.num_classes} classes, from {self.source})"
        )


# ---------------------------------------------------------------------------------------------
# ListOps


def generate_tree(depth: int, max_depth: int, max_args: int, rng: random.Random):
    """LRA's recursive generator: ``(tree, length)``; a tree is a digit or ``(operator, [children])``."""
    r = rng.random() if depth < max_depth else 1.0
    if r > VALUE_P:
        return rng.choice(range(10)), 1
    length = 2
    children = []
    for _ in range(rng.randint(2, max_args)):
        child, child_length = generate_tree(depth + 1, max_depth, max_args, rng)
        children.append(child)
        length += child_length
    return (rng.choice(OPERATORS), tuple(children)), length


def evaluate_tree(tree) -> int:
    """The value of a tree: MAX, MIN, MED = int(median) (as ``int(np.median)`` in LRA), SM = sum mod 10."""
    if isinstance(tree, int):
        return tree
    op, children = tree
    values = [evaluate_tree(c) for c in children]
    return apply_operator(op, values)


def apply_operator(op: str, values: list[int]) -> int:
    if op == "[MAX":
        return max(values)
    if op == "[MIN":
        return min(values)
    if op == "[MED":
        return int(np.median(values))
    if op == "[SM":
        return sum(values) % 10
    raise ValueError(f"unknown ListOps operator {op!r}")


def tree_tokens(tree) -> list[str]:
    """The token sequence of a tree (LRA's source string without the parentheses): ``[MAX 2 9 ]``."""
    if isinstance(tree, int):
        return [str(tree)]
    op, children = tree
    out = [op]
    for c in children:
        out += tree_tokens(c)
    return out + [END]


def evaluate_tokens(tokens: list[str]) -> int:
    """Evaluate a token sequence with a stack (independent of the tree code: used to check labels)."""
    stack: list[list] = []
    result = None
    for t in tokens:
        if t in OPERATORS:
            stack.append([t])
        elif t == END:
            op, *values = stack.pop()
            value = apply_operator(op, values)
            if stack:
                stack[-1].append(value)
            else:
                result = value
        else:
            if stack:
                stack[-1].append(int(t))
            else:
                result = int(t)
    if stack or result is None:
        raise ValueError("unbalanced ListOps expression")
    return result


def generate_listops(
    n_train: int,
    n_test: int,
    max_depth: int = 10,
    max_args: int = 10,
    min_length: int = 500,
    max_length: int = 2000,
    seed: int = 0,
    max_tries: int | None = None,
) -> SequenceData:
    """Generate ListOps as LRA does: unique trees with ``min_length < length < max_length``, then a seeded
    shuffle split into ``n_train`` and ``n_test`` examples (disjoint: the set holds each tree once)."""
    rng = random.Random(seed)
    seen: dict[tuple[str, ...], int] = {}
    need, tries = n_train + n_test, 0
    max_tries = max_tries or 2000 * need
    while len(seen) < need:
        tries += 1
        if tries > max_tries:
            raise RuntimeError(
                f"ListOps: only {len(seen)} of {need} unique trees with {min_length} < length < "
                f"{max_length} after {tries - 1} draws (max_depth {max_depth}, max_args {max_args}); "
                "widen the length window or raise max_depth/max_args"
            )
        tree, length = generate_tree(1, max_depth, max_args, rng)
        if min_length < length < max_length:
            tokens = tuple(tree_tokens(tree))
            if tokens not in seen:
                seen[tokens] = evaluate_tree(tree)
    items = list(seen.items())  # insertion order: deterministic for a seed
    rng.shuffle(items)
    width = max(len(t) for t, _ in items)
    x = torch.zeros(len(items), width, dtype=torch.long)
    for i, (tokens, _) in enumerate(items):
        x[i, : len(tokens)] = torch.tensor([TOKEN_ID[t] for t in tokens])
    y = torch.tensor([label for _, label in items], dtype=torch.long)
    source = (
        f"generated (LRA algorithm): max_depth {max_depth}, max_args {max_args}, "
        f"{min_length} < length < {max_length}, seed {seed}"
    )
    return SequenceData(
        "listops",
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        len(LISTOPS_VOCAB),
        tuple(str(d) for d in range(10)),
        source,
    )


def decode_listops(ids: torch.Tensor) -> list[str]:
    return [LISTOPS_VOCAB[i] for i in ids.tolist() if i != 0]


def example(task: SequenceData, i: int = 0) -> str:
    """Test example ``i`` of a ListOps task as text with its label: ``[MAX 2 9 ] → 9``."""
    return f"{' '.join(decode_listops(task.x_test[i]))} → {int(task.y_test[i])}"


def listops(
    n_train: int,
    n_test: int,
    max_depth: int = 10,
    max_args: int = 10,
    min_length: int = 500,
    max_length: int = 2000,
    seed: int = 0,
    cache: bool = True,
) -> SequenceData:
    """:func:`generate_listops`, cached on disk under ``$REPROBOOK_CACHE/listops`` by its parameters."""
    spec = dict(
        n_train=n_train,
        n_test=n_test,
        max_depth=max_depth,
        max_args=max_args,
        min_length=min_length,
        max_length=max_length,
        seed=seed,
        version=1,
    )
    key = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    path = data.cache_dir() / "listops" / f"listops-{key}.npz"
    if cache and path.is_file():
        z = np.load(path, allow_pickle=False)
        t = {
            k: torch.from_numpy(z[k])
            for k in ("x_train", "y_train", "x_test", "y_test")
        }
        return SequenceData(
            "listops",
            t["x_train"],
            t["y_train"],
            t["x_test"],
            t["y_test"],
            len(LISTOPS_VOCAB),
            tuple(str(d) for d in range(10)),
            str(z["source"]) + f" (cached: {path.name})",
        )
    task = generate_listops(
        n_train, n_test, max_depth, max_args, min_length, max_length, seed
    )
    if cache:
        data.save_npz_atomic(
            path,
            x_train=task.x_train.numpy(),
            y_train=task.y_train.numpy(),
            x_test=task.x_test.numpy(),
            y_test=task.y_test.numpy(),
            source=np.array(task.source),
        )
    return task


# ---------------------------------------------------------------------------------------------
# CIFAR-10 as pixel sequences (LRA "Image")


def cifar_sequences(
    size: int = 32, n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> SequenceData:
    """CIFAR-10 as grayscale pixel sequences of length ``size²`` (row-major), token id = pixel + 1.

    A class-balanced seeded subset, area-resized to ``size``×``size`` (32 = LRA's Image task)."""
    images = data.load("cifar10").subset(n_train, n_test, seed).resized(size)
    train_px, test_px = images.grayscale()
    x_train, x_test = (p.flatten(1).long() + 1 for p in (train_px, test_px))
    return SequenceData(
        "image",
        x_train,
        images.y_train,
        x_test,
        images.y_test,
        257,
        images.classes,
        f"CIFAR-10 grayscale {size}×{size} ({images.source})",
    )


# ---------------------------------------------------------------------------------------------
# Byte-level IMDb (LRA "Text")


def encode_bytes(texts: list[str], max_len: int) -> torch.Tensor:
    """UTF-8 bytes → ids (byte + 1), truncated to ``max_len`` and right-padded with 0."""
    x = torch.zeros(len(texts), max_len, dtype=torch.long)
    for i, text in enumerate(texts):
        raw = np.frombuffer(text.encode("utf-8")[:max_len], dtype=np.uint8)
        x[i, : len(raw)] = torch.from_numpy(raw.astype(np.int64) + 1)
    return x


def imdb_roots() -> dict[str, Path]:
    """Where an extracted ``aclImdb`` folder is looked for, in order, each with what it is (a page
    shows only a path's last part, and both end in ``aclImdb``)."""
    roots = {}
    if data.data_root() is not None:
        roots["$REPROBOOK_DATA"] = data.data_root() / "aclImdb"
    roots["the download cache"] = data.cache_dir() / "imdb" / "aclImdb"
    return roots


def read_imdb_split(root: Path, split: str) -> tuple[list[str], list[int]]:
    """Reviews and labels (0 = negative, 1 = positive) of ``root/<split>/{neg,pos}/*.txt``, sorted by name."""
    texts, labels = [], []
    for label, folder in enumerate(("neg", "pos")):
        for f in sorted((root / split / folder).glob("*.txt")):
            texts.append(f.read_text(encoding="utf-8", errors="replace"))
            labels.append(label)
    return texts, labels


def find_imdb(download: bool = False) -> Path:
    """The ``aclImdb`` folder; downloads Stanford's tarball into the cache only if ``download`` and
    downloads are allowed (``$REPROBOOK_DOWNLOAD``). Raises :class:`TaskUnavailable` otherwise."""
    looked = []
    for where, root in imdb_roots().items():
        if (root / "train" / "pos").is_dir() and (root / "test" / "neg").is_dir():
            return root
        looked.append(
            f"{where}, {root} (no train/{{pos,neg}} and test/{{pos,neg}} folders)"
        )
    if download and data.download_allowed():
        target = data.cache_dir() / "imdb"
        try:
            download_and_extract_archive(IMDB_URL, str(target), md5=IMDB_MD5)
            return target / "aclImdb"
        except Exception as err:  # noqa: BLE001 - reported with the places looked at
            looked.append(f"download of {IMDB_URL} into {target} failed: {err}")
    else:
        looked.append(
            "download not requested (text_download=False)"
            if not download
            else "downloads are switched off ($REPROBOOK_DOWNLOAD=0)"
        )
    raise TaskUnavailable(
        "byte-level IMDb (LRA Text) was not found. Looked at:\n  - "
        + "\n  - ".join(looked)
        + f"\nFix: extract {IMDB_URL} so that $REPROBOOK_DATA/aclImdb/{{train,test}}/{{pos,neg}}/*.txt exist, "
        "or allow the download (download=True, REPROBOOK_DOWNLOAD=1) on a machine with internet access."
    )


def imdb_bytes(
    max_len: int = 1000,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    download: bool = False,
) -> SequenceData:
    """Byte-level IMDb sentiment (2 classes) as token ids [N, max_len]; decoded arrays cached as ``.npz``."""
    root = find_imdb(download)
    key = hashlib.sha1(f"{root.resolve()}|{max_len}|v1".encode()).hexdigest()[:16]
    path = data.cache_dir() / "imdb" / f"imdb-bytes-{key}.npz"
    if path.is_file():
        z = np.load(path)
        t = {
            k: torch.from_numpy(z[k])
            for k in ("x_train", "y_train", "x_test", "y_test")
        }
    else:
        t = {}
        for split in ("train", "test"):
            texts, labels = read_imdb_split(root, split)
            t[f"x_{split}"], t[f"y_{split}"] = (
                encode_bytes(texts, max_len),
                torch.tensor(labels, dtype=torch.long),
            )
        data.save_npz_atomic(path, **{k: v.numpy() for k, v in t.items()})
    task = SequenceData(
        "text",
        t["x_train"],
        t["y_train"],
        t["x_test"],
        t["y_test"],
        257,
        ("negative", "positive"),
        f"IMDb bytes ≤ {max_len} from {root}",
    )
    return task.subset(n_train, n_test, seed)


def task_dims(p, task: str) -> tuple[int, int, int]:
    """(vocabulary size, longest sequence, classes) of ``task`` from a notebook's parameters ``p``,
    without loading any data (the models can be built, and timed, where the data is absent)."""
    if task == "listops":
        return len(LISTOPS_VOCAB), p["listops_max_length"] - 1, 10
    if task == "image":
        return 257, p["image_size"] ** 2, 10
    if task == "text":
        return 257, p["text_max_length"], 2
    raise ValueError(f"unknown task {task!r}; choose one of {TASKS}")


def load_task(p, task: str, seed: int = 0) -> SequenceData:
    """The task's data at the sizes in ``p``; raises :class:`TaskUnavailable` for absent data."""
    if task == "listops":
        return listops(
            p["listops_train"],
            p["listops_test"],
            p["listops_max_depth"],
            p["listops_max_args"],
            p["listops_min_length"],
            p["listops_max_length"],
            seed=seed,
        )
    if task == "image":
        return cifar_sequences(
            p["image_size"],
            p["image_train"] or None,
            p["image_test"] or None,
            seed=seed,
        )
    if task == "text":
        return imdb_bytes(
            p["text_max_length"],
            p["text_train"] or None,
            p["text_test"] or None,
            seed=seed,
            download=p["text_download"],
        )
    raise ValueError(f"unknown task {task!r}; choose one of {TASKS}")


def load_tasks(p) -> tuple[dict[str, SequenceData], dict[str, str]]:
    """Every task of ``p["tasks"]`` whose data is here, and ``{task: why}`` for those skipped (each
    skip is printed with the places looked at). Raises when none of the tasks can be loaded."""
    tasks, skipped = {}, {}
    for name in p["tasks"]:
        try:
            tasks[name] = load_task(p, name, seed=0)
        except TaskUnavailable as err:
            skipped[name] = str(err).splitlines()[0]
            print(f"SKIPPING task {name!r} — its data is not available here:\n{err}\n")
    if not tasks:
        raise RuntimeError(
            f"none of the tasks {p['tasks']} could be loaded; see the messages above"
        )
    return tasks, skipped


def describe(tasks: dict[str, SequenceData]) -> pd.DataFrame:
    """One row per task: split sizes, lengths, vocabulary, classes, majority-class accuracy, source."""
    return pd.DataFrame(
        [
            dict(
                task=name,
                train=len(t.x_train),
                test=len(t.x_test),
                longest=t.max_len,
                mean_length=round(float(t.lengths().float().mean()), 1),
                vocabulary=t.vocab_size,
                classes=t.num_classes,
                majority_class_accuracy=t.majority_accuracy(),
                source=t.source,
            )
            for name, t in tasks.items()
        ]
    ).set_index("task")
