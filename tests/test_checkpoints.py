import pandas as pd
import pytest
import torch

from reprobook import checkpoints, data, models
from reprobook.data import MissingDataError


def build():
    torch.manual_seed(0)
    return models.CifarResNet(8, 4, norm="batch")


def fake_fit(calls):
    def fit(model):
        calls.append(1)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)  # "training": weights differ from build()'s
            model.stem[1].running_mean.fill_(0.25)
        return pd.DataFrame([dict(epoch=1.0, test_acc=0.5)])

    return fit


def test_train_then_load_from_the_cache(isolated_data, tmp_path):
    calls = []
    spec = dict(depth=8, width=4, epochs=1, seed=0)
    first = checkpoints.train_or_load("tiny", build, spec, fake_fit(calls))
    assert first.trained and calls == [1] and first.path.is_file()
    assert (
        first.path.parent == tmp_path / "cache" / "models"
    )  # under $REPROBOOK_CACHE/models
    second = checkpoints.train_or_load("tiny", build, spec, fake_fit(calls))
    assert not second.trained and calls == [1]  # no training the second time
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            first.model.state_dict().values(), second.model.state_dict().values()
        )
    )
    assert second.model.stem[1].running_mean[0].item() == 0.25  # buffers too
    assert second.train_seconds == pytest.approx(first.train_seconds)
    assert second.history.test_acc.tolist() == [0.5]
    state = torch.load(
        first.path, weights_only=True
    )  # a plain tensor dict: safe to load
    assert set(state) == set(build().state_dict())


def test_a_different_spec_is_a_different_file(isolated_data):
    a = checkpoints.checkpoint_path("m", dict(width=4, seed=0))
    assert a == checkpoints.checkpoint_path(
        "m", dict(seed=0, width=4)
    )  # key order does not matter
    assert a != checkpoints.checkpoint_path("m", dict(width=4, seed=1))
    assert a != checkpoints.checkpoint_path("other", dict(width=4, seed=0))


def test_an_unreadable_cache_file_is_trained_over(isolated_data):
    calls, spec = [], dict(seed=3)
    path = checkpoints.train_or_load("tiny", build, spec, fake_fit(calls)).path
    path.write_bytes(b"not a checkpoint")
    again = checkpoints.train_or_load("tiny", build, spec, fake_fit(calls))
    assert again.trained and calls == [1, 1]
    assert not checkpoints.train_or_load("tiny", build, spec, fake_fit(calls)).trained


def test_no_cache_always_trains(isolated_data):
    calls = []
    for _ in range(2):
        out = checkpoints.train_or_load(
            "tiny", build, dict(seed=0), fake_fit(calls), cache=False
        )
        assert out.trained and not out.path.exists()
    assert calls == [1, 1]


def test_imagenet_is_reported_missing_clearly(isolated_data, monkeypatch, tmp_path):
    monkeypatch.delenv("REPROBOOK_IMAGENET", raising=False)
    with pytest.raises(MissingDataError, match="REPROBOOK_IMAGENET"):
        data.imagenet_root()
    monkeypatch.setenv("REPROBOOK_IMAGENET", str(tmp_path))
    with pytest.raises(MissingDataError, match="no val/ folder"):
        data.imagenet_root()
    monkeypatch.setenv(
        "TORCH_HOME", str(tmp_path / "torch")
    )  # no weights there; downloads are off
    with pytest.raises(
        checkpoints.MissingModelError, match="resnet18 weights not found"
    ):
        checkpoints.imagenet_pretrained("resnet18")


def test_imagenet_folder_is_read_in_torchvision_class_order(
    isolated_data, monkeypatch, tmp_path
):
    from PIL import Image

    val = tmp_path / "imagenet" / "val"
    wnids = [f"n{i:08d}" for i in range(1000)]
    for w in wnids:
        (val / w).mkdir(parents=True)
    Image.new("RGB", (300, 400), (255, 0, 0)).save(val / wnids[3] / "a.JPEG")
    Image.new("RGB", (500, 260), (0, 0, 255)).save(val / wnids[999] / "b.JPEG")
    monkeypatch.setenv("REPROBOOK_IMAGENET", str(tmp_path / "imagenet"))
    x, y = data.imagenet_images("val")
    assert (
        x.shape == (2, 3, 224, 224)
        and x.dtype == torch.uint8
        and y.tolist() == [3, 999]
    )
    assert x[0, 0].float().mean() > 250 and x[1, 2].float().mean() > 250
    x1, _ = data.imagenet_images("val", n=1, seed=0)
    assert len(x1) == 1
