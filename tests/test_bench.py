from reprobook import bench


def test_benchmark_runs_both_loops_and_reports_the_ratio(mirror, capsys):
    assert bench.main(steps=1, batch_size=8, workers=0) == 0
    out = capsys.readouterr().out
    assert (
        "reprobook trainer" in out
        and "DataLoader + torchvision" in out
        and "ratio (reprobook / DataLoader)" in out
    )


def test_epoch_timing_reports_the_second_epoch(mirror):
    import torch

    from reprobook import data

    few = data.load("cifar10").subset(256, 16, seed=0)
    seconds = bench.epoch_seconds(few, torch.device("cpu"), batch_size=64)
    assert 0 < seconds < 60
