"""tests/bench_models.py's bookkeeping (make bench): how rounds are merged and reported. The
measurements themselves are speed, not tested here (DEVELOPERS.md: speed lives in benchmarks)."""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models  # noqa: E402


def _row(t, pf, dc, rss, lb):
    return ("SmolLM-135M", t, 90_000_000, 1_000_000, pf, dc, rss, lb)


def test_merge_rounds_medians_and_ranges():
    rounds = [[_row("q4_0", 100.0, 10.0, 50, (50.0, 10.0)), _row("f16", 80.0, 8.0, 70, (80.0, 4.0))],
              [_row("q4_0", 300.0, 30.0, 60, (100.0, 10.0)), _row("f16", 90.0, 9.0, 71, (60.0, 6.0))],
              [_row("q4_0", 200.0, 20.0, 55, (200.0, 40.0)), _row("f16", 70.0, 7.0, 69, (70.0, 7.0))]]
    q4, f16 = bench_models.merge_rounds(rounds)
    assert q4[:8] == ("SmolLM-135M", "q4_0", 90_000_000, 1_000_000, 200.0, 20.0, 60, (100.0, 10.0))
    # per-round ratios: prefill 2.0, 3.0, 1.0; decode 1.0, 3.0, 0.5
    assert q4[8] == ((1.0, 3.0), (0.5, 3.0))
    assert f16[4:8] == (80.0, 8.0, 71, (70.0, 6.0))
    assert f16[8] == ((1.0, 1.5), (1.0, 2.0))


def test_merge_rounds_without_llama_cpp():
    (r,) = bench_models.merge_rounds([[_row("f32", 10.0, 1.0, 5, None)], [_row("f32", 30.0, 3.0, 6, None)]])
    assert r[4:] == (20.0, 2.0, 6, None, None)


def test_merge_rounds_refuses_rows_that_differ():
    try:
        bench_models.merge_rounds([[_row("f32", 1.0, 1.0, 1, None)], [_row("f16", 1.0, 1.0, 1, None)]])
    except AssertionError:
        return
    raise AssertionError("rounds with different rows were merged")


def test_report_prints_the_ranges(capsys):
    a = argparse.Namespace(llama_bench="/x/llama-bench", rounds=3)
    rows = bench_models.merge_rounds([[_row("q4_0", 100.0, 10.0, 50, (50.0, 10.0))], [_row("q4_0", 300.0, 30.0, 60, (100.0, 10.0))],
                                      [_row("q4_0", 200.0, 20.0, 55, (200.0, 40.0))]])
    bench_models.report(a, [1], {1: 30.0}, {1: rows})
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("model"))
    line = next(line for line in out.splitlines() if line.startswith("SmolLM-135M"))
    assert head.split().count("rounds") == 2
    assert "1.00-3.00" in line and "0.50-3.00" in line, line
    assert " 2.00 " in line  # the medians' ratio: 200 / 100
    assert "rounds = the lowest and highest of the 3 rounds' ratios" in out


def test_report_without_rounds_has_no_range_column(capsys):
    a = argparse.Namespace(llama_bench="/x/llama-bench", rounds=1)
    bench_models.report(a, [1], {1: 30.0}, {1: bench_models.merge_rounds([[_row("q4_0", 100.0, 10.0, 50, (50.0, 10.0))]])})
    out = capsys.readouterr().out
    assert "rounds" not in out


def test_bad_rounds_is_refused():
    r = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_models.py"), "--rounds", "0"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "--rounds and --reps must be at least 1 (got --rounds 0" in r.stderr



def test_report_prints_llama_cpp_share_of_the_floor_and_the_ceiling(capsys):
    # 90 MB of weights at 30 GB/s: a floor of 333.3 tok/s; llama.cpp decodes 10 (3% of it): no engine can show more than 33.33x
    a = argparse.Namespace(llama_bench="/x/llama-bench", rounds=1)
    bench_models.report(a, [1], {1: 30.0}, {1: bench_models.merge_rounds([[_row("q4_0", 100.0, 200.0, 50, (50.0, 10.0))]])})
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("model"))
    line = next(line for line in out.splitlines() if line.startswith("SmolLM-135M")).split()
    assert "% of floor llama.cpp % ceiling" in head, head
    assert line[-5:-2] == ["60%", "3%", "33.33"], line  # ckernel's 200 tok/s: 60% of the floor; llama.cpp's 10: 3%; the ceiling
    assert "ceiling = the floor's tok/s / llama.cpp's decode tok/s" in out


def test_report_without_llama_cpp_has_no_ceiling(capsys):
    a = argparse.Namespace(llama_bench=None, rounds=1)
    bench_models.report(a, [1], {1: 30.0}, {1: bench_models.merge_rounds([[_row("q4_0", 100.0, 200.0, 50, None)]])})
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("model"))
    assert "ceiling" not in out and "llama.cpp" not in head, out


def test_pinned_runs_stay_on_their_cpu():
    # the 1-thread runs of both engines go through run / peak_rss with cpus: the child (and what it starts) sees only that CPU
    cpu = max(os.sched_getaffinity(0))
    show = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
    assert bench_models.run(show, cpus={cpu}).stdout.strip() == f"[{cpu}]"
    assert bench_models.peak_rss(show, cpus={cpu})[0].strip() == f"[{cpu}]"
    assert bench_models.run(show).stdout.strip() == str(sorted(os.sched_getaffinity(0)))


def test_the_floor_is_the_higher_of_two_bandwidth_readings(monkeypatch):
    # bench_membw's output, as two readings would give it: the 2-thread one low at the start, the 1-thread one low at the end
    outs = iter(["memory read bandwidth: 46.40 GB/s", "memory read bandwidth: 43.50 GB/s",
                 "memory read bandwidth: 84.00 GB/s", "memory read bandwidth: 40.00 GB/s"])
    seen = []

    def fake_run(args, cpus=None, **kw):
        seen.append((kw["env"]["OMP_NUM_THREADS"], cpus))
        return argparse.Namespace(stdout=next(outs))
    monkeypatch.setattr(bench_models, "run", fake_run)
    pin = lambda th: {0} if th == 1 else None  # noqa: E731
    start, end = bench_models.bandwidth([2, 1], pin), bench_models.bandwidth([2, 1], pin)
    assert start == {2: 46.4, 1: 43.5} and end == {2: 84.0, 1: 40.0}
    assert seen == [("2", None), ("1", {0})] * 2  # the 1-thread reading pinned, as the 1-thread runs
    assert bench_models.floor_bw(start, end) == {2: 84.0, 1: 43.5}


def test_bandwidth_text_names_every_thread_count():
    assert bench_models.bw_text({2: 80.04, 1: 42.5}, [2, 1]) == "80.0 GB/s with 2 threads, 42.5 GB/s with 1 thread"
