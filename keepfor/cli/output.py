"""Where a command's output goes, and what a failure to write it looks like.

``--output PATH`` (:func:`output_file`):

* no ``--output``, or ``-``: standard output;
* a new path in an existing folder: a new file, with the permissions the umask allows;
* an existing regular file: replaced whole. The report is written to a temporary file
  beside it, synced, then renamed over it, so the file is the old one or the whole new
  one, never half of either. The new file keeps the old one's owner, group and
  permission bits (only root may keep another user's ownership; a user keeps what the
  system lets them). Set-id bits, ACLs and extended attributes are not carried over,
  and other hard links to the old file keep the old report;
* anything else is refused, one line and exit 2, before anything is written: a
  symbolic link (even to a regular file: renaming over it would cut the link, and
  writing through it would write where the command line does not say, e.g. a link
  someone planted in a shared folder, followed by root), a folder, a device
  (``/dev/full``, ``/dev/stdout``, which is a link; ``-`` is standard output), a named
  pipe or a socket, an empty path, a path ending in ``/``, a path in a missing folder.

A folder that cannot be written or a full disk is one line naming the path and exit 2,
and the temporary file is removed. Standard output that cannot be written is one line
(``cannot write to standard output: No space left on device``) and exit 2; when its
reader has gone (``keepfor ... | head``), keepfor stops quietly with exit 0
(:func:`guarded_stdout`, :func:`silence_stdout`).
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

from keepfor.errors import UsageError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer
    from rich.table import Table
    from rich.text import Text

__all__ = [
    "OutputError",
    "StdoutClosed",
    "guarded_stdout",
    "live_progress",
    "output_file",
    "plain",
    "print_table",
    "shows_progress",
    "silence_stdout",
]


class OutputError(UsageError):
    """Output that cannot go where it was sent: one line naming where, exit 2."""


class StdoutClosed(Exception):
    """Standard output's reader has gone (``keepfor ... | head -1``): stop quietly.

    Not an :class:`OSError`, so that click, which turns a broken pipe into exit 1,
    lets it through to :meth:`keepfor.cli.app.KeepforGroup.main`."""


class _Sink(io.FileIO):
    """A file descriptor whose write errors say where the output was going."""

    failure = "cannot write"
    """The message's start: ``--output r.csv: cannot write``."""
    discard = False
    """Set once writing has failed: what is still buffered is dropped, so closing is quiet."""

    def write(self, data: ReadableBuffer, /) -> int:
        if self.discard:
            return memoryview(data).nbytes
        try:
            return super().write(data)
        except BrokenPipeError:
            raise StdoutClosed from None
        except OSError as error:
            raise OutputError(f"{self.failure}: {error.strerror or error}") from None


def _printable(text: str) -> str:
    """:func:`keepfor.report.text.printable`, imported when first needed: every command
    imports this module at start-up, and only ``report`` loads :mod:`keepfor.report`."""
    from keepfor.report.text import printable

    return printable(text)


def plain(value: object) -> Text:
    """A value a person or a record gave (a key, a customer, a reason), for a rich table
    or line: as it is, never read as rich markup (``[/b]`` is text, not a closing tag),
    control characters escaped (:func:`keepfor.report.text.printable`)."""
    from rich.text import Text

    return Text(_printable(str(value)))


def print_table(table: Table) -> None:
    """A rich table on standard output: fitted to a terminal's width; in a file or a
    pipe, as wide as its cells need, so that no key or id is folded there."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(file=sys.stdout, soft_wrap=True, highlight=False)
    if not console.is_terminal:
        wide = console.options.update_width(100_000)
        console.width = max(console.width, Measurement.get(console, wide, table).maximum)
    console.print(table)


def _sink(fd: int, failure: str, *, closefd: bool) -> _Sink:
    sink = _Sink(fd, "w", closefd=closefd)
    sink.failure = failure
    return sink


# -- --output ---------------------------------------------------------------------------


@contextlib.contextmanager
def output_file(path: str | None) -> Iterator[TextIO]:
    """Standard output (no path, or ``-``), or a regular file that appears whole or not
    at all (see the module's notes for what is refused and what is kept)."""
    if path is None or path == "-":
        yield sys.stdout
        return
    where = f"--output {_printable(path)}"
    old = _existing(path, where)
    fd, tmp = _temporary(path, where)
    sink = _sink(fd, f"{where}: cannot write", closefd=True)
    out = io.TextIOWrapper(io.BufferedWriter(sink), encoding="utf-8", newline="")
    try:
        _take_over(fd, old)
        yield out
        _finish(out, sink)
        try:
            os.replace(tmp, path)
        except OSError as error:
            raise OutputError(f"{where}: cannot replace it: {error.strerror}") from None
    except BaseException:
        sink.discard = True
        with contextlib.suppress(OSError):
            out.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _existing(path: str, where: str) -> os.stat_result | None:
    """The regular file at ``path``; None for a new path in a folder; else OutputError."""
    if not path:
        raise OutputError("--output '': an empty path; name a file, or - for standard output")
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise OutputError(f"{where}: names a folder; name a file in it")
    try:
        found = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        _check_folder(path, where)
        return None
    except OSError as error:
        raise OutputError(f"{where}: {error.strerror}") from None
    if stat.S_ISREG(found.st_mode):
        return found
    raise OutputError(f"{where}: {_refusal(found.st_mode)}")


def _check_folder(path: str, where: str) -> None:
    folder = os.path.dirname(path) or "."
    try:
        found = os.stat(folder)
    except FileNotFoundError:
        raise OutputError(f"{where}: no such folder {_printable(folder)}") from None
    except OSError as error:
        raise OutputError(f"{where}: {_printable(folder)}: {error.strerror}") from None
    if not stat.S_ISDIR(found.st_mode):
        raise OutputError(f"{where}: {_printable(folder)} is not a folder")


_DEVICES = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def _refusal(mode: int) -> str:
    """Why keepfor will not write over a path of this ``mode``."""
    if stat.S_ISDIR(mode):
        return "is a folder; name a file in it"
    if stat.S_ISLNK(mode):
        return "is a symbolic link; name the file itself (or - for standard output)"
    kind = next((kind for test, kind in _DEVICES if test(mode)), "something else")
    return f"is {kind}, not a regular file; reports go to files (or - for standard output)"


def _temporary(path: str, where: str) -> tuple[int, str]:
    """A new, empty file beside ``path``, for the report until it is whole."""
    folder = os.path.dirname(path) or "."
    name = os.path.basename(path)[:64]
    try:
        return tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    except OSError as error:
        raise OutputError(
            f"{where}: cannot write in the folder {_printable(folder)}: {error.strerror}"
        ) from None


def _take_over(fd: int, old: os.stat_result | None) -> None:
    """The old file's owner, group and permission bits for the new one; for a new path,
    what the umask allows (mkstemp makes files 600)."""
    if old is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    else:
        mode = stat.S_IMODE(old.st_mode) & 0o777  # no set-id bits: a report is no program
        _keep_owner(fd, old)
    if hasattr(os, "fchmod"):  # POSIX (on Windows a new file is writable, which will do)
        os.fchmod(fd, mode)


def _keep_owner(fd: int, old: os.stat_result) -> None:
    """The old file's owner and group, as far as the system allows (before the mode:
    a change of owner may clear mode bits)."""
    if not hasattr(os, "fchown"):
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:  # only root gives files away; a user may keep the group
        with contextlib.suppress(PermissionError):
            os.fchown(fd, -1, old.st_gid)


def _finish(out: io.TextIOWrapper, sink: _Sink) -> None:
    """Flush, sync and close: every byte on the disk before the rename, or OutputError."""
    out.flush()  # a write that fails raises OutputError from the sink
    try:
        os.fsync(sink.fileno())
        out.close()
    except OSError as error:
        raise OutputError(f"{sink.failure}: {error.strerror or error}") from None


# -- standard output ----------------------------------------------------------------------


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """While a command runs, standard output whose failures are keepfor's: a write that
    fails raises :class:`OutputError`, a reader that has gone :class:`StdoutClosed`; what
    is printed is flushed before the block ends, so the errors surface inside it.

    Only the process's own standard output is guarded; a stream put in its place (by a
    test runner, or a program calling keepfor) is left as it is."""
    real = sys.stdout
    fd = _fileno(real) if real is sys.__stdout__ else None
    if fd is None:
        yield
        return
    real.flush()
    sink = _sink(fd, "cannot write to standard output", closefd=False)
    guarded = io.TextIOWrapper(
        io.BufferedWriter(sink),
        encoding=real.encoding,
        errors=real.errors,
        line_buffering=bool(real.line_buffering),
        write_through=getattr(real, "write_through", False),
    )
    sys.stdout = guarded
    try:
        yield
    except BaseException:
        with contextlib.suppress(OutputError, StdoutClosed):
            guarded.flush()  # what the command printed before it failed, if it can be
        raise
    else:
        guarded.flush()
    finally:
        sys.stdout = real
        sink.discard = True
        guarded.close()  # leaves the descriptor open


def silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush
    does not fail on a pipe whose reader has gone (as Python's docs on SIGPIPE advise)."""
    fd = _fileno(sys.stdout)
    if fd is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _fileno(stream: TextIO | None) -> int | None:
    try:
        return None if stream is None else stream.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both; ValueError: closed
        return None


# -- progress -----------------------------------------------------------------------------


def shows_progress(stderr_is_terminal: bool, output_is_terminal: bool) -> bool:
    """Whether to show a live count: only on a terminal's stderr, and only while the
    output goes elsewhere (a file, a pipe): on the same terminal they would interleave."""
    return stderr_is_terminal and not output_is_terminal


@contextlib.contextmanager
def live_progress(out: TextIO) -> Iterator[Callable[[int], None] | None]:
    """A live count of due records on stderr, while ``out`` receives the report; nothing
    (None) unless :func:`shows_progress` says so."""
    if not shows_progress(sys.stderr.isatty(), out.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.completed} due records"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("report", total=None)
        yield lambda n: progress.advance(task, n)
