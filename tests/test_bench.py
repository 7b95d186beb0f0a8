from reprobook import bench


def test_benchmark_runs_both_loops_and_reports_the_ratio(mirror, capsys):
    assert bench.main(steps=1, batch_size=8, workers=0) == 0
    out = capsys.readouterr().out
    assert (
        "reprobook trainer" in out
        and "DataLoader + torchvision" in out
        and "ratio (reprobook / DataLoader)" in out
    )
