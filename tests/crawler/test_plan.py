"""crawler/plan.py: the crawl estimate per host, the slices of a crawl too long for its interval, the shards."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

from crawler.plan import (
    SHARD_SALT,
    SLICE_SALT,
    crawl_budget_s,
    crawl_interval_s,
    narrower,
    parse_part,
    plan_crawl,
    slice_now,
    take_part,
)
from crawler.run import crawl_settings, plan_sources
from jobtrend.config import REPO_ROOT, SourceConfig, load_config
from tests.crawler.conftest import write_config

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)


def boards(kind: str, count: int) -> list[SourceConfig]:
    return [SourceConfig(kind=kind, key=f"{kind}-{i}") for i in range(count)]


def config_with(tmp_path, sources: list[SourceConfig], *, delay: float = 1.0, crawl_cron: str | None = None):
    directory = write_config(tmp_path / "config", sources)
    text = (directory / "jobtrend.toml").read_text().replace("download_delay = 0", f"download_delay = {delay}")
    if crawl_cron:
        text += f'\n[scheduler.jobs]\ncrawl = "{crawl_cron}"\n'
    (directory / "jobtrend.toml").write_text(text)
    return load_config(directory)


def test_hosts_are_estimated_apart_and_the_slowest_sets_the_time(tmp_path):
    sources = boards("ashby", 1590) + boards("greenhouse", 2541) + boards("lever", 3)
    config = config_with(tmp_path, sources)
    plan = plan_crawl(crawl_settings(config), plan_sources(config, ("ashby", "greenhouse", "lever"), None))

    by_host = {h.host: h for h in plan.hosts}
    assert by_host["api.ashbyhq.com"].sources == 1590
    assert by_host["api.ashbyhq.com"].requests == 1591  # one per board, robots.txt once
    assert by_host["boards-api.greenhouse.io"].seconds == 2542.0
    assert by_host["api.lever.co"].sources == 3
    assert plan.seconds == 2542.0  # hosts in parallel: the slowest one
    assert plan.slowest == "boards-api.greenhouse.io"
    lines = plan.lines()
    assert lines[1].startswith("boards-api.greenhouse.io") and "42.4" in lines[1]
    assert "42.4" in lines[-2]
    assert "no scheduled crawl" in lines[-1]  # no budget given: never sliced
    assert plan.estimate_line().startswith("estimated at least 42.4 min: 4,134 sources, 4,137 requests on 3 hosts")


def test_a_crawl_longer_than_its_interval_is_sliced(tmp_path):
    config = config_with(tmp_path, boards("greenhouse", 2541), delay=2.0, crawl_cron="0 * * * *")
    assert crawl_interval_s(config, NOW) == 3600.0
    assert crawl_budget_s(config, NOW) == 3600.0
    plan = plan_crawl(crawl_settings(config), plan_sources(config, ("greenhouse",), None), crawl_budget_s(config, NOW))
    assert plan.seconds == 5084.0
    assert plan.slices == 2  # 5,084 s in runs of at most 80 % of an hour
    assert "2 slices" in plan.slicing_line()


def test_slices_take_every_board_once_per_cycle_and_shards_split_them(tmp_path):
    sources = {"ashby": boards("ashby", 500), "lever": boards("lever", 200)}
    every = {s.label for listed in sources.values() for s in listed}
    for salt in (SLICE_SALT, SHARD_SALT):
        parts = [{s.label for listed in take_part(sources, i, 3, salt).values() for s in listed} for i in range(3)]
        assert set().union(*parts) == every and sum(map(len, parts)) == len(every)
        assert all(150 < len(p) < 320 for p in parts)
    # consecutive scheduled runs of an hourly crawl take consecutive slices
    hours = [slice_now(3, 3600, NOW + dt.timedelta(hours=h)) for h in range(6)]
    assert sorted(hours[:3]) == [0, 1, 2] and hours[:3] == hours[3:]


def test_a_scheduled_crawl_takes_only_its_slice_when_a_full_one_does_not_fit(tmp_path):
    config = config_with(tmp_path, boards("greenhouse", 2541), delay=2.0, crawl_cron="0 * * * *")
    plan = plan_sources(config, ("greenhouse",), None)
    scheduled = narrower(config, crawl_settings(config), scheduled=True, now=NOW)(plan)
    manual = narrower(config, crawl_settings(config), now=NOW)(plan)
    assert 0 < len(scheduled["greenhouse"]) < 2541 and len(manual["greenhouse"]) == 2541
    fits = config_with(tmp_path / "fits", boards("greenhouse", 100), crawl_cron="0 * * * *")
    assert len(narrower(fits, crawl_settings(fits), scheduled=True, now=NOW)(
        plan_sources(fits, ("greenhouse",), None))["greenhouse"]) == 100


def test_parse_part():
    assert parse_part("1/2") == (0, 2) and parse_part("2/2") == (1, 2)
    for bad in ("0/2", "3/2", "a/b", "2"):
        try:
            parse_part(bad)
        except ValueError as exc:
            assert "K/N" in str(exc)
        else:
            raise AssertionError(bad)


def test_crawl_plan_prints_the_budget_and_crawls_nothing(tmp_path):
    config = config_with(tmp_path, boards("ashby", 120))
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config.config_dir),
                        "JOBTREND_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    done = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "jobtrend"), "crawl", "--plan"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "api.ashbyhq.com" in done.stdout and "120" in done.stdout and "121" in done.stdout
    assert not (tmp_path / "none.db").exists()
