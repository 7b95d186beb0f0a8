"""ZeroQ's committed model of record: it loads, it is what its provenance says, and it classifies."""

import dataclasses
import json
import shutil

import pytest
import torch

from reprobook import data, train
from reprobook.papers.zeroq import record


def test_the_committed_model_is_the_one_its_provenance_describes():
    model, meta = record.load()
    assert meta["sha256"] == record.sha256(record.paths()[0])
    assert meta["architecture"] == dict(
        arch="CifarResNet", depth=20, width=16, norm="batch"
    )
    assert meta["data"] == dict(dataset="cifar10", resolution=32, train_images=50_000)
    assert meta["recipe"] == json.loads(
        json.dumps(dataclasses.asdict(record.RECIPE))
    )  # the recipe in the code is the one that trained it
    assert meta["test_images"] == 10_000 and not meta["diverged"]
    assert meta["test_accuracy"]["mean"] >= record.MIN_ACCURACY
    assert meta["provenance"]["git_commit"] and meta["provenance"]["git_dirty"] is False
    assert len(meta["history"]) == meta["recipe"]["epochs"]  # one evaluation per epoch
    assert "ResNet-20" in record.describe(meta) and "%" in record.describe(meta)
    assert not model.training


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
    monkeypatch.setattr(
        record, "RECIPE", dataclasses.replace(record.RECIPE, epochs=0.005)
    )
    meta = record.fit(tmp_path)
    model, loaded = record.load(tmp_path)
    assert loaded == json.loads(json.dumps(meta, default=str))
    assert loaded["test_images"] == 10_000 and 0 <= loaded["test_accuracy"]["low"]
    assert loaded["test_accuracy"]["high"] <= 1
    assert set(loaded["provenance"]) >= {"git_commit", "hardware", "packages"}
