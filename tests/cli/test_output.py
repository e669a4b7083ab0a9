"""Where a report goes: ``--output`` refuses what is not a file, keeps a file's mode and
owner, and fails in one line; standard output that fails or whose reader goes away;
when the progress count shows."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import select
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.cli import output
from keepfor.cli.app import EXIT_BAD_INPUT, EXIT_OK
from tests.cli.conftest import KEEPFOR, assert_bad_input, invoke
from tests.report import PACK_YAML, TABLE, load, table

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX files, devices, pipes")

AT = "2026-01-15T12:00:00Z"
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
HEADER = "key,rule,disposal_date,action,pack,source,anchor_date,status,field,value\n"
NO_SPACE = "keepfor: error: cannot write to standard output: No space left on device\n"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(PACK_YAML, encoding="utf-8")
    return path


@pytest.fixture
def records(tmp_path: Path) -> str:
    """The hand-worked records of :mod:`tests.report` (4 due) in a SQLite file."""
    url = f"sqlite:///{tmp_path / 'records.db'}"
    load(url)
    return url


@pytest.fixture(scope="module")
def many_records(tmp_path_factory: pytest.TempPathFactory) -> str:
    """40,000 due orders: a CSV report of about a megabyte, more than any pipe holds."""
    url = f"sqlite:///{tmp_path_factory.mktemp('many') / 'records.db'}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    records = table(meta)
    meta.create_all(engine)
    rows = [
        {"id": i, "key": f"k{i:05d}", "category": "order", "placed_at": date(2020, 1, 1)}
        for i in range(40_000)
    ]
    with engine.begin() as conn:
        conn.execute(records.insert(), rows)
    engine.dispose()
    return url


@pytest.fixture
def out_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder for --output files, and the working directory."""
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def report(pack: Path, url: str, *args: object) -> list[object]:
    """``keepfor report`` over the records, as CSV."""
    head = ["report", "--rules", pack, "--db", url, "--table", TABLE, "--key", "key"]
    return [*head, "--at", AT, "--format", "csv", *args]


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes | str]]:
    """Every entry under ``folder``: its kind, mode and content (a link: its target)."""
    shot: dict[str, tuple[int, int, bytes | str]] = {}
    for path in sorted(folder.rglob("*")):
        found = path.lstat()
        content: bytes | str = b""
        if stat.S_ISLNK(found.st_mode):
            content = os.readlink(path)
        elif stat.S_ISREG(found.st_mode):
            content = path.read_bytes()
        shot[str(path.relative_to(folder))] = (
            stat.S_IFMT(found.st_mode),
            stat.S_IMODE(found.st_mode),
            content,
        )
    return shot


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A small tmpfs mounted on ``folder`` for the block; skips unless that is possible."""
    if not ROOT:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    done = subprocess.run(mount, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        full = error
    finally:
        os.close(fd)
    assert full.errno == errno.ENOSPC, full


# -- --output: what is refused -----------------------------------------------------------


def _link_to_a_file(folder: Path) -> str:
    (folder / "real.csv").write_text("old\n", encoding="utf-8")
    (folder / "r.csv").symlink_to("real.csv")
    return str(folder / "r.csv")


def _dangling_link(folder: Path) -> str:
    (folder / "r.csv").symlink_to(folder / "nowhere.csv")
    return str(folder / "r.csv")


def _link_like_dev_stdout(folder: Path) -> str:
    (folder / "stdout").symlink_to("/proc/self/fd/1")
    return str(folder / "stdout")


def _folder(folder: Path) -> str:
    (folder / "sub").mkdir()
    (folder / "sub" / "kept.txt").write_text("kept\n", encoding="utf-8")
    return str(folder / "sub")


def _named_pipe(folder: Path) -> str:
    os.mkfifo(folder / "fifo")
    return str(folder / "fifo")


def _device_like_dev_full(folder: Path) -> str:
    try:
        os.mknod(folder / "full", stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return str(folder / "full")


def _folder_path(folder: Path) -> str:
    return f"{folder / 'new'}/"


def _in_a_file(folder: Path) -> str:
    (folder / "file.txt").write_text("a file\n", encoding="utf-8")
    return str(folder / "file.txt" / "r.csv")


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_link_to_a_file, "is a symbolic link"),
        (_dangling_link, "is a symbolic link"),
        (_link_like_dev_stdout, "is a symbolic link"),
        (_folder, "is a folder"),
        (_named_pipe, "is a named pipe, not a regular file"),
        (_device_like_dev_full, "is a character device, not a regular file"),
        (_folder_path, "names a folder"),
        (_in_a_file, "file.txt is not a folder"),
        (lambda folder: "", "--output '': an empty path"),
    ],
    ids=[
        "link-to-file",
        "dangling-link",
        "link-to-stdout",
        "folder",
        "fifo",
        "device",
        "trailing-slash",
        "parent-is-a-file",
        "empty",
    ],
)
def test_what_is_not_a_file_is_refused(
    pack: Path, records: str, out_dir: Path, make: Callable[[Path], str], why: str
) -> None:
    """One line naming the path, exit 2, and nothing under the folder changed or added."""
    target = make(out_dir)
    before = snapshot(out_dir)
    line = assert_bad_input(invoke(*report(pack, records, "--output", target)), why)
    assert f"--output {target}" in line
    assert snapshot(out_dir) == before


def test_a_missing_folder(pack: Path, records: str, out_dir: Path) -> None:
    target = out_dir / "nope" / "r.csv"
    assert_bad_input(invoke(*report(pack, records, "--output", target)), "no such folder")
    assert snapshot(out_dir) == {}


def test_dash_is_standard_output(pack: Path, records: str, out_dir: Path) -> None:
    run = invoke(*report(pack, records, "--output", "-"))
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(HEADER)
    assert len(run.stdout.splitlines()) == 5
    assert snapshot(out_dir) == {}


# -- --output: a file replaced keeps its mode and owner -----------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o660, 0o666])
def test_a_replaced_file_keeps_its_mode(pack: Path, records: str, out_dir: Path, mode: int) -> None:
    target = out_dir / "r.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(mode)
    run = invoke(*report(pack, records, "--output", target))
    assert run.exit_code == 0, run.stderr
    assert target.read_text(encoding="utf-8").startswith(HEADER)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert sorted(out_dir.iterdir()) == [target]


@pytest.mark.skipif(not ROOT, reason="only root can give a file to another user")
def test_a_replaced_file_keeps_its_owner(pack: Path, records: str, out_dir: Path) -> None:
    target = out_dir / "r.csv"
    target.write_text("old\n", encoding="utf-8")
    os.chown(target, 1234, 5678)
    target.chmod(0o640)
    run = invoke(*report(pack, records, "--output", target))
    assert run.exit_code == 0, run.stderr
    found = target.stat()
    assert (found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)) == (1234, 5678, 0o640)
    assert target.read_text(encoding="utf-8").startswith(HEADER)


# -- --output: a folder that cannot be written, a full disk -------------------------------


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write in: a read-only tmpfs for root, mode 555 for a user."""
    if ROOT:
        with tmpfs(tmp_path / "ro", "ro,size=16k") as folder:
            yield folder
        return
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


def test_a_folder_that_cannot_be_written(pack: Path, records: str, read_only_folder: Path) -> None:
    target = read_only_folder / "r.csv"
    line = assert_bad_input(
        invoke(*report(pack, records, "--output", target)), f"--output {target}"
    )
    assert f"cannot write in the folder {read_only_folder}" in line
    assert list(read_only_folder.iterdir()) == []


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs holding an old report and a filler that takes every other byte."""
    with tmpfs(tmp_path / "full", "size=64k") as folder:
        (folder / "r.csv").write_text("old\n", encoding="utf-8")
        fill(folder)
        yield folder


@pytest.mark.parametrize("name", ["r.csv", "new.csv"])
def test_a_full_disk(pack: Path, records: str, full_disk: Path, name: str) -> None:
    """One line naming the path, exit 2, no temporary file, and an old report intact."""
    target = full_disk / name
    line = assert_bad_input(
        invoke(*report(pack, records, "--output", target)), f"--output {target}"
    )
    assert line.endswith(": cannot write: No space left on device"), line
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "r.csv"]
    assert (full_disk / "r.csv").read_text(encoding="utf-8") == "old\n"


# -- standard output that fails, or whose reader goes away ---------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KEEPFOR_DEBUG"}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _explain(pack: Path, tmp_path: Path) -> list[str]:
    record = tmp_path / "order.json"
    record.write_text('{"category": "order", "placed_at": "2024-06-01"}', encoding="utf-8")
    return ["explain", "--rules", str(pack), "--record", str(record), "--at", AT]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["explain", "report-small", "report-big"])
def test_standard_output_on_a_full_device(
    pack: Path, records: str, many_records: str, tmp_path: Path, command: str
) -> None:
    """``keepfor ... > /dev/full``: one line, exit 2, whether the write that fails is the
    last flush (a small output) or one in the middle (a big one)."""
    args = {
        "explain": _explain(pack, tmp_path),
        "report-small": report(pack, records),
        "report-big": report(pack, many_records),
    }[command]
    script = '"$0" "$@" > /dev/full'
    done = subprocess.run(
        ["sh", "-c", script, str(KEEPFOR), *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (EXIT_BAD_INPUT, NO_SPACE)


def test_a_reader_that_goes_away(pack: Path, many_records: str, tmp_path: Path) -> None:
    """``keepfor report ... | head -1``: the pipe closes mid-report; exit 0, nothing said."""
    status, errors = tmp_path / "status", tmp_path / "stderr"
    script = '{ "$0" "$@" 2>"$ERRORS"; echo $? >"$STATUS"; } | head -1'
    done = subprocess.run(
        ["sh", "-c", script, str(KEEPFOR), *map(str, report(pack, many_records))],
        capture_output=True,
        text=True,
        env={**_env(), "STATUS": str(status), "ERRORS": str(errors)},
        timeout=120,
        check=False,
    )
    assert done.stdout == HEADER
    assert errors.read_text(encoding="utf-8") == ""
    assert int(status.read_text(encoding="utf-8")) == EXIT_OK


def test_a_whole_report_through_a_pipe(pack: Path, many_records: str) -> None:
    """Guarding standard output changes nothing while it works."""
    done = subprocess.run(
        [str(KEEPFOR), *map(str, report(pack, many_records))],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (EXIT_OK, "")
    lines = done.stdout.splitlines()
    assert len(lines) == 40_001
    assert sorted(lines[1:])[0].startswith("k00000,orders,2021-01-02,purge,")


# -- progress: only when the report is not going to the terminal ---------------------------


@pytest.mark.parametrize(
    ("stderr_is_terminal", "output_is_terminal", "shown"),
    [
        (True, False, True),  # stdout to a file or a pipe, or --output FILE: count on stderr
        (True, True, False),  # both on the terminal: rows and count would interleave
        (False, False, False),  # stderr captured: no count
        (False, True, False),
    ],
)
def test_when_the_progress_shows(
    stderr_is_terminal: bool, output_is_terminal: bool, shown: bool
) -> None:
    assert output.shows_progress(stderr_is_terminal, output_is_terminal) is shown


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_asks_where_the_report_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    with output.live_progress(_Terminal()) as advance:
        assert advance is None
    with output.live_progress(io.StringIO()) as advance:
        assert advance is not None
        advance(1)


def _read_terminal(primary: int, deadline: float) -> bytes:
    """Everything written to a pseudo-terminal until its last writer closes it."""
    chunks: list[bytes] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_on_one_terminal_no_progress_mixes_with_the_rows(pack: Path, records: str) -> None:
    import pty

    primary, secondary = pty.openpty()
    try:
        args = [str(KEEPFOR), *map(str, report(pack, records))]
        proc = subprocess.Popen(args, stdout=secondary, stderr=secondary, env=_env())
        os.close(secondary)
        secondary = -1
        text = _read_terminal(primary, time.monotonic() + 120)
        assert proc.wait(timeout=120) == EXIT_OK
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    assert b"due records" not in text
    assert b"o01,orders,2025-06-02,purge" in text
