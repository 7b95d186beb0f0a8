"""ZeroQ's committed model of record: it loads, it is what its provenance says, and it classifies."""

import dataclasses
import json
import shutil

import pytest
import torch

from reprobook import data, train
from reprobook.papers.zeroq import record


@pytest.fixture(autouse=True)
def a_cpu_with_bf16(monkeypatch):
    """The CLI tests below are about the record, not this machine's CPU: the committed recipe
    trains in bf16 on the CPU, which ``train-record`` refuses where the CPU lacks bf16."""
    monkeypatch.setattr(train, "cpu_has_bf16", lambda: True)


def test_the_committed_model_is_the_one_its_provenance_describes():
    model, meta = record.load()
    assert meta["sha256"] == record.sha256(record.paths()[0])
    assert meta["architecture"] == dict(
        arch="CifarResNet", depth=20, width=16, norm="batch"
    )
    assert meta["data"]["dataset"] == "cifar10" and meta["data"]["resolution"] == 32
    assert meta["data"]["train_images"] == 50_000 and meta["data"]["source"]
    # the recipe in the code is the one that trained it (fields added since take their defaults)
    assert train.TrainConfig.of(meta["recipe"]) == record.RECIPE
    assert meta["test_images"] == 10_000 and not meta["diverged"]
    assert (
        0.85 <= meta["test_accuracy"]["mean"] <= 1
    )  # 89.5% (the 91% target is not met)
    assert meta["provenance"]["git_commit"] and meta["provenance"]["git_dirty"] is False
    assert len(meta["history"]) == meta["recipe"]["epochs"]  # one evaluation per epoch
    assert "ResNet-20" in record.describe(meta) and "%" in record.describe(meta)
    assert not model.training


def test_the_page_quotes_the_recipe_that_trained_the_model():
    text = record.recipe_text(dataclasses.asdict(record.RECIPE))
    assert text.startswith("SGD with Nesterov momentum 0.9, lr 0.1, linear decay")
    assert "Cutout 8 px" in text and "label smoothing 0.1" in text and "bf16" in text
    # fields left at their defaults are not named; the official step schedule reads as steps
    step = train.TrainConfig(schedule="step", milestones=(80, 120), nesterov=False)
    text = record.recipe_text(dataclasses.asdict(step))
    assert "SGD with momentum 0.9" in text and "×0.1 at epochs 80, 120" in text
    assert "Cutout" not in text and "smoothing" not in text and text.endswith("fp32")
    he = dataclasses.replace(step, warmup=0.0)  # He et al.: the full rate from step 1
    assert "×0.1 at epochs 80, 120 with no warm-up" in record.recipe_text(
        dataclasses.asdict(he)
    )
    adam = train.TrainConfig(
        optimizer="adam", schedule="inverse_sqrt", warmup_steps=1000
    )
    text = record.recipe_text(dataclasses.asdict(adam))
    assert (
        "AdamW" in text and "inverse-square-root decay after 1000 warm-up steps" in text
    )
    # an older provenance without newer fields reads with their defaults
    old = {k: v for k, v in dataclasses.asdict(record.RECIPE).items() if k != "cutout"}
    assert "Cutout" not in record.recipe_text(old)
    _, meta = record.load()
    assert record.recipe_text(meta["recipe"]) in record.describe(meta)


def test_a_model_trained_beside_other_runs_says_so_by_its_training_time():
    _, meta = record.load()
    assert "beside" not in record.describe(meta)
    shared = {**meta, "provenance": {**meta["provenance"], "runs_alongside": 5}}
    assert " (beside up to 5 other runs) at commit " in record.describe(shared)


def test_the_committed_model_classifies_the_test_images(mirror):
    model, meta = record.load()
    cifar = data.load("cifar10").subset(0, 1000, seed=0)
    correct = train.correct(
        model, cifar.x_test, cifar.y_test, data.normaliser(cifar.mean, cifar.std)
    )
    # 1,000 of the 10,000 images the provenance was measured on: within a few points of it
    assert abs(correct.float().mean().item() - meta["test_accuracy"]["mean"]) < 0.03


def test_altered_or_missing_weights_are_refused_with_the_fix(tmp_path):
    folder = tmp_path / "record"
    shutil.copytree(record.FOLDER, folder)
    weights, _ = record.paths(folder)
    state = torch.load(weights, weights_only=True)
    next(iter(state.values())).add_(1.0)
    torch.save(state, weights)
    with pytest.raises(record.RecordError, match="SHA-256.*reprobook train-record"):
        record.load(folder)
    weights.unlink()
    with pytest.raises(record.RecordError, match="missing.*reprobook train-record"):
        record.load(folder)


def test_fit_writes_weights_that_load_with_their_provenance(
    mirror, tmp_path, monkeypatch
):
    meta = record.fit(tmp_path, recipe=record.recipe_with(dict(epochs=0.005)))
    model, loaded = record.load(tmp_path)
    assert loaded["recipe"]["epochs"] == 0.005
    assert loaded["command"] == "reprobook train-record zeroq --set epochs=0.005"
    assert loaded == json.loads(json.dumps(meta, default=str))
    assert loaded["test_images"] == 10_000 and 0 <= loaded["test_accuracy"]["low"]
    assert loaded["test_accuracy"]["high"] <= 1
    assert set(loaded["provenance"]) >= {"git_commit", "hardware", "packages"}


@pytest.fixture
def no_data_needed(monkeypatch):
    """train-record loads CIFAR-10 before training; the fake trainings below need none."""
    monkeypatch.setattr(data, "load", lambda name: None)


def test_missing_data_fails_before_anything_is_written(tmp_path, monkeypatch, capsys):
    from reprobook import cli

    monkeypatch.setenv("REPROBOOK_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("REPROBOOK_DOWNLOAD", "0")
    monkeypatch.setattr(record, "fit", lambda *a, **k: pytest.fail("trained anyway"))
    assert cli.main(["train-record", "zeroq", "--out", str(tmp_path / "r")]) == 2
    said = capsys.readouterr()
    assert said.out == "" and said.err.count("\n") == 1
    assert (
        said.err.startswith("error: dataset 'cifar10' was not found")
        and "Fix:" in said.err
    )
    assert list(tmp_path.iterdir()) == []  # no candidate folder left behind


def fake_fit(accuracy):
    def fit(folder, recipe=record.RECIPE):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "resnet20-cifar10.pt").write_text(f"weights at {accuracy}")
        meta = dict(
            test_accuracy=dict(mean=accuracy, low=accuracy, high=accuracy, n=1),
            test_images=10_000,
            recipe=dict(epochs=80),
            seed=0,
            train_seconds=60.0,
            provenance=dict(
                hardware=dict(gpu=None, cores=2, cpu="a CPU"),
                git_commit="0123456789",
                started_utc="2026-12-01T00:00:00Z",
            ),
        )
        (folder / "resnet20-cifar10.json").write_text(json.dumps(meta))
        return meta

    return fit


@pytest.mark.parametrize("accuracy, replaced", [(0.85, False), (0.93, True)])
def test_retraining_replaces_the_record_only_when_it_is_more_accurate(
    tmp_path, monkeypatch, capsys, accuracy, replaced, no_data_needed
):
    from reprobook import cli

    folder = tmp_path / "record"
    fake_fit(0.9)(folder)  # the committed model: 90%
    monkeypatch.setattr(record, "fit", fake_fit(accuracy))
    rc = cli.main(["train-record", "zeroq", "--out", str(folder)])
    said = capsys.readouterr()
    assert said.out.startswith(
        f"training resnet20-cifar10 for {record.RECIPE.epochs:g} epochs (SGD with Nesterov"
    )  # what, how and where, before the hours of training
    weights = (folder / "resnet20-cifar10.pt").read_text()
    candidate = tmp_path / "record.candidate"
    if replaced:
        assert rc == 0 and weights == "weights at 0.93" and not candidate.exists()
    else:
        assert rc == 1 and weights == "weights at 0.9"
        assert (candidate / "resnet20-cifar10.pt").is_file()
        assert "is unchanged" in said.err


def test_a_kept_candidate_is_moved_aside_never_overwritten(
    tmp_path, monkeypatch, capsys, no_data_needed
):
    from reprobook import cli

    folder = tmp_path / "record"
    fake_fit(0.9)(folder)  # the committed model: 90%
    for accuracy in (0.85, 0.86):  # two retrainings, neither more accurate
        monkeypatch.setattr(record, "fit", fake_fit(accuracy))
        assert cli.main(["train-record", "zeroq", "--out", str(folder)]) == 1
    said = capsys.readouterr().out
    (kept,) = tmp_path.glob("record.candidate-*")
    assert f"an earlier candidate moved to {kept}" in said
    assert (kept / "resnet20-cifar10.pt").read_text() == "weights at 0.85"
    assert (tmp_path / "record.candidate" / "resnet20-cifar10.pt").read_text() == (
        "weights at 0.86"
    )


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_a_stopped_training_leaves_no_empty_candidate(
    tmp_path, monkeypatch, no_data_needed, stop
):
    from reprobook import cli

    def fit(folder, recipe=record.RECIPE):
        raise stop("stopped mid-training")

    monkeypatch.setattr(record, "fit", fit)
    argv = ["train-record", "zeroq", "--out", str(tmp_path / "record")]
    if stop is KeyboardInterrupt:  # Ctrl-C: one line and the shell's code for it
        assert cli.main(argv) == 130
    else:
        with pytest.raises(stop):
            cli.main(argv)
    assert list(tmp_path.iterdir()) == []


def test_a_first_model_of_record_is_written_whatever_its_accuracy(
    tmp_path, monkeypatch, no_data_needed
):
    from reprobook import cli

    monkeypatch.setattr(record, "fit", fake_fit(0.5))
    assert cli.main(["train-record", "zeroq", "--out", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / "resnet20-cifar10.pt").read_text() == "weights at 0.5"


def test_an_unwritable_out_folder_fails_before_training(monkeypatch, capsys):
    from reprobook import cli

    monkeypatch.setattr(record, "fit", lambda *a, **k: pytest.fail("trained anyway"))
    assert cli.main(["train-record", "zeroq", "--out", "/proc/rb/record"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass a writable --out folder" in err


def test_set_changes_one_field_of_the_recipe_and_the_rest_stay(
    monkeypatch, no_data_needed
):
    from reprobook import cli

    seen = {}
    monkeypatch.setattr(
        record,
        "fit",
        lambda folder, recipe: seen.setdefault("recipe", recipe) and 1 / 0,
    )
    with pytest.raises(ZeroDivisionError):  # reached fit: the arguments were accepted
        cli.main(
            [
                "train-record",
                "zeroq",
                "--out",
                "/tmp/rb-set-test",
                "--set",
                "cutout=8",
                "--set",
                "label_smoothing=0.1",
                "--set",
                "lr=1",
            ]
        )
    assert seen["recipe"] == dataclasses.replace(
        record.RECIPE, cutout=8, label_smoothing=0.1, lr=1.0
    )


@pytest.mark.parametrize(
    "item, message",
    [
        ("cutuot=8", "no field 'cutuot'"),
        ("cutout=big", "cutout takes int"),
        ("augment=1", "augment takes bool"),
        ("precision=fp64", "precision must be one of"),
        ("cutout", "FIELD=VALUE"),
    ],
)
def test_a_bad_set_fails_in_one_line_before_training(
    monkeypatch, capsys, item, message
):
    from reprobook import cli

    monkeypatch.setattr(record, "fit", lambda *a, **k: pytest.fail("trained anyway"))
    assert (
        cli.main(["train-record", "zeroq", "--out", "/tmp/rb-set-test", "--set", item])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_bf16_on_a_cpu_without_it_fails_in_one_line_before_training(
    monkeypatch, capsys, no_data_needed
):
    from reprobook import cli

    monkeypatch.setattr(train, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(train, "pick_device", lambda name=None: torch.device("cpu"))
    monkeypatch.setattr(record, "fit", lambda *a, **k: pytest.fail("trained anyway"))
    assert cli.main(["train-record", "zeroq", "--out", "/tmp/rb-set-test"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no bf16 instructions" in err
    assert "--set precision=fp32" in err
    # the fix it names is accepted: the same command with fp32 reaches training
    monkeypatch.setattr(record, "fit", lambda folder, recipe: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(
            ["train-record", "zeroq", "--out", "/tmp/rb-set-test"]
            + ["--set", "precision=fp32"]
        )
