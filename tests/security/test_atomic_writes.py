"""Every file the command line writes is replaced atomically (issue: `jobtrend report --out FILE` replaced a good
report with a 4 KB fragment when the disk filled).

The disk "fills" after 100 bytes: the temporary file behind :func:`jobtrend.files.atomic_output` gets a raw file
whose writes stop with ENOSPC past that. Each command must then leave the previous file as it was and no
temporary file beside it, print one line (``Error: cannot write FILE: No space left on device``) and exit 1.
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat

import pytest

import jobtrend.files
from jobtrend.files import WriteFailed, atomic_write
from tests.analysis.factories import add_posting, add_source
from tests.jobtrend.test_config import invoke_cli, write_config

PREVIOUS = b"the previous, good file\n"
ROOM = 100  # bytes the disk takes before it is full
WEEK = "2025-W42"


class FullDisk(io.RawIOBase):
    """A raw file on ``fd`` that takes ``room`` bytes, then fails every write with ENOSPC (as a full disk does,
    after part of the data)."""

    def __init__(self, fd: int, room: int):
        self.fd, self.room = fd, room

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, data) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = os.write(self.fd, bytes(data[:self.room]))
        self.room -= written
        return written

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


@pytest.fixture
def full_disk(monkeypatch):
    monkeypatch.setattr(jobtrend.files, "_open_temp", lambda fd: io.BufferedWriter(FullDisk(fd, ROOM)))


@pytest.fixture
def cli(tmp_path, role_model_path):
    config_dir = write_config(tmp_path / "config")
    with (config_dir / "jobtrend.toml").open("a") as fh:
        fh.write(f"\n[classifier]\nmodel = {json.dumps(str(role_model_path))}\n")
    return lambda args, database_url=None: invoke_cli(config_dir, args, database_url)


@pytest.fixture
def target(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def assert_failed_cleanly(result, path):
    """Exit status 1, the error as one line (the last: `report` and `evaluate` print their summary first), no
    traceback, the previous file untouched and nothing else in its folder."""
    assert result.exit_code == 1, result.output
    line = f"Error: cannot write {path}: No space left on device"
    assert result.output.splitlines()[-1] == line and result.output.count("Error:") == 1, result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == PREVIOUS
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_atomic_write_replaces_a_file_whole(target):
    path = target / "f.txt"
    path.write_bytes(PREVIOUS)
    atomic_write(path, "new text")
    assert path.read_text() == "new text" and sorted(p.name for p in target.iterdir()) == ["f.txt"]


def test_a_new_file_gets_the_usual_mode_and_a_replaced_one_keeps_its_own(target):
    umask = os.umask(0o022)
    os.umask(umask)
    fresh = atomic_write(target / "new.txt", b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # as open() would make it, not mkstemp's 0600
    kept = target / "kept.txt"
    kept.write_bytes(b"x")
    kept.chmod(0o640)
    atomic_write(kept, b"y")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


def test_a_write_failing_midway_leaves_the_previous_file(target, full_disk):
    path = target / "f.bin"
    path.write_bytes(PREVIOUS)
    with pytest.raises(WriteFailed) as failed:
        atomic_write(path, b"x" * 100_000)
    assert str(failed.value) == f"cannot write {path}: No space left on device"
    assert failed.value.errno == errno.ENOSPC
    assert path.read_bytes() == PREVIOUS and sorted(p.name for p in target.iterdir()) == ["f.bin"]


def test_a_missing_folder_is_one_line_too(target):
    with pytest.raises(WriteFailed, match=r"^cannot write .*/missing/f.txt: No such file or directory$"):
        atomic_write(target / "missing" / "f.txt", b"x")


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_report_out(cli, engine, db_url, target, full_disk):
    add_posting(engine, add_source(engine), title="ML Engineer", text="PyTorch")
    path = target / "report.html"
    path.write_bytes(PREVIOUS)
    assert_failed_cleanly(cli(["report", "--week", WEEK, "--out", str(path)], db_url), path)


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_report_stored_out(cli, engine, db_url, target, monkeypatch):
    add_posting(engine, add_source(engine), title="ML Engineer", text="PyTorch")
    assert cli(["report", "--week", WEEK], db_url).exit_code == 0  # stores it
    path = target / "sent.html"
    path.write_bytes(PREVIOUS)
    monkeypatch.setattr(jobtrend.files, "_open_temp", lambda fd: io.BufferedWriter(FullDisk(fd, ROOM)))
    assert_failed_cleanly(cli(["report", "--stored", "--week", WEEK, "--out", str(path)], db_url), path)


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export(cli, engine, db_url, target, full_disk, fmt):
    source = add_source(engine)
    for i in range(50):
        add_posting(engine, source, title=f"ML Engineer {i}", text="PyTorch " * 50)
    path = target / f"postings.{fmt}"
    path.write_bytes(PREVIOUS)
    assert_failed_cleanly(cli(["export", "postings", "--format", fmt, "--out", str(path)], db_url), path)


def test_classifier_evaluate_reliability(cli, target, full_disk):
    path = target / "r.png"
    path.write_bytes(PREVIOUS)
    assert_failed_cleanly(cli(["classifier", "evaluate", "--draws", "100", "--reliability", str(path)]), path)


def test_classifier_train_model(cli, target, full_disk):
    path = target / "roles.npz"
    path.write_bytes(PREVIOUS)
    assert_failed_cleanly(cli(["classifier", "train", "--bundled", "--model", str(path)]), path)


def test_role_model_save(role_model, target, full_disk):
    path = target / "roles.npz"
    path.write_bytes(PREVIOUS)
    with pytest.raises(WriteFailed):
        role_model.save(path)
    assert path.read_bytes() == PREVIOUS and sorted(p.name for p in target.iterdir()) == ["roles.npz"]
