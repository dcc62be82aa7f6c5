"""The CLI as a process: errors translated once, signals, closed pipes, the exit status.

Errors are translated once, in `Group.main`: a problem the user can fix is one line per
problem (file, place, problem, fix) and exit status 2; a failure while rendering is one line
and status 1; a bad option is one line, not click's usage text. Ctrl-C, SIGTERM and SIGHUP
stop the work cleanly (staging folders removed, finished tracks kept) with status 128 + the
signal; a closed pipe (`rlsaudio plan x | head`) ends quietly with status 141.

Standard output that cannot be used (closed with `>&-`, a full disk with `> /dev/full`, an
encoding that cannot carry a title) never stops the work or shows a traceback: what could
not be written there is shown on stderr with one line saying why, and the status is 1 (the
work itself is kept). A character the output's encoding cannot carry is written escaped.
"""

from __future__ import annotations

import io
import os
import signal
import sys

import click

from ..base.errors import RlsaudioError


def _one_line_usage(exc: click.UsageError) -> str:
    ctx = exc.ctx
    where = ctx.command_path if ctx else "rlsaudio"
    hint = f" (see {where} -h)"
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter) and exc.param is not None:
        names = exc.param.opts or [exc.param.human_readable_name]
        name = max(names, key=len) if exc.param.param_type_name == "option" else exc.param.human_readable_name
        return f"{where}: {name}: {exc.message}{hint}"
    message = exc.format_message()
    return f"{where}: {message[0].lower() + message[1:] if message else 'bad usage'}{hint}"


class Group(click.Group):
    """Translates the project's errors once, for every command: one line per problem."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.UsageError as exc:
            err(_one_line_usage(exc))
            code = 2
        except click.ClickException as exc:
            err(exc.format_message())
            code = exc.exit_code
        except (Interrupted, KeyboardInterrupt, click.exceptions.Abort):
            err(("\r\033[K" if isatty(sys.stderr) else "") + "interrupted")
            code = 128 + Signals.received
        except (ClosedPipe, BrokenPipeError):
            code = closed_pipe()
        code = flush(code)
        if not standalone_mode:
            return code
        sys.exit(code)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RlsaudioError as exc:
            for line in exc.lines():
                err(line)
            return exc.exit_code
        except KeyboardInterrupt:
            raise Interrupted() from None  # past click, which would print a blank line first
        except BrokenPipeError:
            raise ClosedPipe() from None  # past click, which would exit 1
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: one line; the traceback only on request
            if os.environ.get("RLSAUDIO_DEBUG"):
                raise
            err(f"internal error: {type(exc).__name__}: {exc} "
                "(set RLSAUDIO_DEBUG=1 for the traceback and please report it)")
            return 1


class Interrupted(Exception):
    """Ctrl-C, SIGTERM or SIGHUP, carried past click's own handling."""


class ClosedPipe(Exception):
    """Our reader closed the pipe, carried past click's own handling."""


def isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def err(line: str) -> None:
    """One line on stderr, its control characters escaped (a message may quote a file's text: a
    tag, a file name); a stderr that is gone is not an error of ours."""
    from ..base.text import printable

    try:
        click.echo(printable(line), err=True)
    except (BrokenPipeError, OSError):
        pass


def closed_pipe() -> int:
    """Whoever read our output stopped (`| head`): nothing more to say, and no error to print."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 128 + signal.SIGPIPE


def flush(code: int) -> int:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return closed_pipe()
    except (OSError, ValueError):
        pass
    return code


class Signals:
    """SIGTERM and SIGHUP stop rlsaudio like Ctrl-C: the work unwinds and cleans up."""

    received = signal.SIGINT

    @classmethod
    def install(cls) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, cls._interrupt)

    @classmethod
    def _interrupt(cls, signum, frame):
        cls.received = signum
        raise KeyboardInterrupt


class Stdout(io.TextIOBase):
    """Standard output that never fails the command: each write is flushed at once, and one that
    fails (closed, full, an I/O error) is shown on stderr instead, after one line saying why.
    A closed pipe still raises BrokenPipeError: the reader went away, and that ends quietly."""

    def __init__(self, stream):
        self.stream = stream
        self.failed = "" if stream is not None else "it is closed"
        self._told = False

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.stream is not None and isatty(self.stream)

    def fileno(self) -> int:
        """The real descriptor (input() and dup2 use it); a closed stdout has none."""
        if self.stream is None:
            raise io.UnsupportedOperation("standard output is closed")
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        if not self.failed:
            try:
                self.stream.write(text)
                self.stream.flush()
                return len(text)
            except BrokenPipeError:
                raise
            except (OSError, ValueError) as exc:
                self.failed = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        self._to_stderr(text)
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self.stream.flush()
            except BrokenPipeError:
                raise
            except (OSError, ValueError) as exc:
                self.failed = getattr(exc, "strerror", None) or str(exc)

    def _to_stderr(self, text: str) -> None:
        try:
            if not self._told:
                self._told = True
                sys.stderr.write(f"rlsaudio: cannot write to standard output ({self.failed}); "
                                 "showing its lines here\n")
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def _standard_streams() -> None:
    """Closed standard descriptors are opened on /dev/null (else the next file opened, a track,
    would become "stdout" for every print and child process); stdout is wrapped in Stdout, and
    text a stream's encoding cannot carry is written escaped, never an error."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            except OSError:
                pass
            if fd == 1:
                sys.stdout = None
            elif fd == 2:
                sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    sys.stdout = Stdout(sys.stdout)


def run(group: click.Group) -> None:
    """The process: signals installed, the command run, the exit status returned to the shell."""
    from ..speech.engines.base import loaded_engines
    from ..system.threads import one_blas_thread

    _standard_streams()
    Signals.install()
    one_blas_thread()
    code = group.main(prog_name="rlsaudio", standalone_mode=False)
    if isinstance(sys.stdout, Stdout) and sys.stdout.failed and sys.stdout._told and code == 0:
        code = 1  # the work is done, but its report could not go where it was asked to
    if loaded_engines():
        # A speech engine's native threads (onnxruntime) may still be inside a call; letting the
        # interpreter tear them down aborts the process (SIGABRT). Everything of ours is closed.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)
