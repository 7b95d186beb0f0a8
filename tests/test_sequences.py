import numpy as np
import pytest
import torch

from reprobook import params
from reprobook.data import MissingDataError
from reprobook.papers.wide_attention import sequences as S


def small_listops(seed=0, **kw):
    args = dict(
        n_train=600,
        n_test=200,
        max_depth=4,
        max_args=5,
        min_length=10,
        max_length=48,
        seed=seed,
    )
    args.update(kw)
    return S.generate_listops(**args)


def test_operators_follow_lra():
    assert (
        S.apply_operator("[MAX", [3, 9, 1]) == 9
        and S.apply_operator("[MIN", [3, 9, 1]) == 1
    )
    assert S.apply_operator("[MED", [1, 2]) == 1  # int(np.median) truncates 1.5
    assert S.apply_operator("[MED", [1, 4, 2, 9]) == 3  # int(3.0)
    assert S.apply_operator("[SM", [7, 8, 9]) == 4  # 24 mod 10
    assert S.evaluate_tokens("[MAX 2 9 [MIN 4 7 ] 0 ]".split()) == 9
    assert (
        S.evaluate_tokens("[SM [MED 1 5 6 ] 8 [MIN 3 9 ] ]".split()) == (5 + 8 + 3) % 10
    )
    with pytest.raises(ValueError, match="unbalanced"):
        S.evaluate_tokens("[MAX 2 9".split())


def test_tree_length_counts_operator_bracket_and_children():
    import random

    rng = random.Random(0)
    for _ in range(200):
        tree, length = S.generate_tree(1, 5, 4, rng)
        assert length == len(S.tree_tokens(tree))
        assert S.evaluate_tree(tree) == S.evaluate_tokens(S.tree_tokens(tree))


def test_labels_are_the_value_of_the_expression():
    task = small_listops()
    for x, y in zip(
        torch.cat([task.x_train, task.x_test]), torch.cat([task.y_train, task.y_test])
    ):
        assert S.evaluate_tokens(S.decode_listops(x)) == int(y)
    assert task.vocab_size == 16 and task.num_classes == 10
    assert (
        len(torch.cat([task.y_train, task.y_test]).unique()) == 10
    )  # every value occurs


def test_lengths_are_inside_the_window_and_padding_is_trailing():
    task = small_listops(min_length=20, max_length=40)
    for split in ("train", "test"):
        lengths = task.lengths(split)
        assert lengths.min() > 20 and lengths.max() < 40
        x = task.x_train if split == "train" else task.x_test
        positions = torch.arange(x.shape[1])
        assert ((x != 0) == (positions[None] < lengths[:, None])).all()
    assert task.max_len < 40


def test_no_test_example_is_in_train_and_no_duplicates():
    task = small_listops()
    train = {tuple(r.tolist()) for r in task.x_train}
    test = {tuple(r.tolist()) for r in task.x_test}
    assert len(train) == len(task.x_train) and len(test) == len(task.x_test)
    assert not train & test


def test_generation_is_seeded():
    a, b, c = small_listops(seed=1), small_listops(seed=1), small_listops(seed=2)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train[:50], c.x_train[:50])


def test_an_impossible_window_says_what_to_change():
    with pytest.raises(RuntimeError, match="widen the length window"):
        S.generate_listops(
            5, 5, max_depth=2, max_args=2, min_length=50, max_length=60, max_tries=1000
        )


def test_listops_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("REPROBOOK_CACHE", str(tmp_path))
    first = S.listops(
        100, 50, max_depth=4, max_args=4, min_length=8, max_length=30, seed=3
    )
    files = list((tmp_path / "listops").glob("*.npz"))
    assert len(files) == 1
    second = S.listops(
        100, 50, max_depth=4, max_args=4, min_length=8, max_length=30, seed=3
    )
    assert "cached" in second.source and "cached" not in first.source
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    S.listops(100, 50, max_depth=4, max_args=4, min_length=8, max_length=30, seed=4)
    assert (
        len(list((tmp_path / "listops").glob("*.npz"))) == 2
    )  # another seed, another file


def test_cifar_as_grayscale_pixel_sequences(mirror):
    task = S.cifar_sequences(size=8, n_train=200, n_test=100, seed=0)
    assert task.x_train.shape == (200, 64) and task.x_test.shape == (100, 64)
    assert (
        task.x_train.dtype == torch.long
        and task.x_train.min() >= 1
        and task.x_train.max() <= 256
    )
    assert torch.bincount(task.y_train).tolist() == [20] * 10
    from reprobook import data

    images = data.load("cifar10").subset(200, 100, 0).resized(8)
    gray, _ = images.grayscale()
    assert torch.equal(
        task.x_train[3].view(8, 8), gray[3, 0].long() + 1
    )  # row-major pixels, id = value + 1
    assert task.vocab_size == 257 and task.majority_accuracy() == pytest.approx(0.1)


def write_reviews(root, split, label, texts):
    folder = root / "aclImdb" / split / label
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (folder / f"{i}_7.txt").write_text(text, encoding="utf-8")


def test_imdb_bytes_from_a_local_aclimdb_folder(isolated_data):
    write_reviews(isolated_data, "train", "pos", ["great film", "loved it é"])
    write_reviews(
        isolated_data, "train", "neg", ["bad", "awful awful awful awful awful"]
    )
    write_reviews(isolated_data, "test", "pos", ["fine"])
    write_reviews(isolated_data, "test", "neg", ["no"])
    task = S.imdb_bytes(max_len=12)
    assert (
        task.x_train.shape == (4, 12)
        and task.num_classes == 2
        and task.vocab_size == 257
    )
    by_label = {int(y): [] for y in task.y_train}
    for x, y in zip(task.x_train, task.y_train):
        by_label[int(y)].append(bytes((x[x != 0] - 1).tolist()))
    assert sorted(by_label[1]) == sorted([b"great film", "loved it é".encode()[:12]])
    assert sorted(by_label[0]) == sorted(
        [b"bad", b"awful awful "]
    )  # truncated to 12 bytes
    assert task.x_train.max() <= 256 and task.y_train.tolist() == [0, 0, 1, 1]
    again = S.imdb_bytes(max_len=12)  # second load from the decoded cache
    assert torch.equal(again.x_test, task.x_test)


def test_imdb_absent_raises_a_clear_error_and_downloads_nothing(isolated_data):
    with pytest.raises(S.TaskUnavailable) as err:
        S.imdb_bytes(max_len=16)
    message = str(err.value)
    assert (
        "aclImdb" in message
        and S.IMDB_URL in message
        and "download not requested" in message
    )
    assert isinstance(err.value, MissingDataError)
    # both places end in aclImdb, and a page keeps only a path's last part: each says what it is
    assert "  - $REPROBOOK_DATA, " in message and "  - the download cache, " in message
    with pytest.raises(S.TaskUnavailable, match=r"REPROBOOK_DOWNLOAD=0"):
        S.imdb_bytes(
            max_len=16, download=True
        )  # downloads switched off by the fixture: no network touched


def test_encode_bytes_pads_and_shifts():
    x = S.encode_bytes(["ab", ""], 4)
    assert x.tolist() == [[ord("a") + 1, ord("b") + 1, 0, 0], [0, 0, 0, 0]]


def test_task_dims_agree_with_the_data_at_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("REPROBOOK_CACHE", str(tmp_path))
    p = params.load_spec("wide_attention").preset("smoke")
    task = S.load_task(p, "listops")
    vocab, max_len, classes = S.task_dims(p, "listops")
    assert (
        task.vocab_size == vocab
        and task.max_len <= max_len
        and task.num_classes == classes
    )
    with pytest.raises(ValueError, match="unknown task"):
        S.task_dims(p, "retrieval")


def test_subset_is_class_balanced():
    task = small_listops()
    sub = task.subset(100, 50, seed=0)
    counts = torch.bincount(sub.y_train, minlength=10)
    assert counts.tolist() == [10] * 10 and len(sub.x_test) == 50
    assert np.isclose(
        sub.majority_accuracy(),
        float((sub.y_test == torch.bincount(sub.y_train).argmax()).float().mean()),
    )


def test_load_tasks_skips_absent_data_with_a_message_and_describes_the_rest(
    isolated_data, capsys
):
    p = params.Params.of(
        "wide_attention",
        {**params.resolve("wide_attention", "smoke"), "tasks": ["listops", "text"]},
    )
    tasks, skipped = S.load_tasks(p)
    assert list(tasks) == ["listops"] and list(skipped) == ["text"]
    assert "SKIPPING task 'text'" in capsys.readouterr().out
    table = S.describe(tasks)
    listops = tasks["listops"]
    assert table.loc["listops", "test"] == len(listops.x_test)
    assert (
        table.loc["listops", "majority_class_accuracy"] == listops.majority_accuracy()
    )
    assert torch.isclose(listops.class_shares().sum(), torch.tensor(1.0))
    tokens, label = S.example(listops).split(" → ")
    assert S.evaluate_tokens(tokens.split()) == int(label) == int(listops.y_test[0])
    with pytest.raises(RuntimeError, match="none of the tasks"):
        S.load_tasks(params.Params.of("wide_attention", {**p, "tasks": ["text"]}))
