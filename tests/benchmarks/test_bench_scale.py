"""bench_scale's second-crawl figures: the target is on CPU above the no-op crawl, against the first crawl's."""

from __future__ import annotations

from benchmarks import bench_scale
from benchmarks.__main__ import minutes
from benchmarks._figures import parse

NOOP = {"wall_s": 100.0, "cpu_s": 90.0}
FIRST = {"wall_s": 130.0, "cpu_s": 130.0}  # 40 s of CPU above the no-op crawl


def second(cpu_s: float) -> dict:
    return {"wall_s": 120.0, "cpu_s": cpu_s}


def test_the_target_is_half_of_what_the_first_crawl_spends_above_the_no_op_crawl():
    assert bench_scale.SECOND_CRAWL_TARGET == 0.5
    assert bench_scale.second_crawl_met(FIRST, second(110.0), NOOP)  # 20 s: exactly half
    assert not bench_scale.second_crawl_met(FIRST, second(110.5), NOOP)


def test_the_second_crawl_prints_its_ratio_beside_the_target(capsys):
    bench_scale.second_crawl_figures("SQLite", FIRST, second(100.0), NOOP)
    out = capsys.readouterr().out.splitlines()
    assert "10.0 s against 40.0 s: 25%, target <= 50% (met)" in out[0]
    figures = [parse(line) for line in out[1:]]
    assert [f["figure"] for f in figures] == ["second crawl, nothing changed, wall time",
                                              "second crawl, nothing changed, CPU time",
                                              "second crawl, nothing changed, CPU above the no-op crawl"]
    assert (figures[2]["value"], figures[2]["reference_value"], figures[2]["met"]) == (10.0, 40.0, True)
    assert figures[0]["target"] is None and figures[1]["ratio"] == round(100 / 130, 4)


def test_a_missed_target_is_said_so(capsys):
    bench_scale.second_crawl_figures("PostgreSQL", FIRST, second(125.0), NOOP)
    assert "target <= 50% (NOT met)" in capsys.readouterr().out


def test_the_whole_run_is_timed_in_minutes():
    assert (minutes(5), minutes(1865.4)) == ("0 min 05 s", "31 min 05 s")
