"""The project's error types.

Every problem a user can fix is raised as an RlsaudioError (or a child). The CLI turns
them into one line per problem and an exit status; nothing else reaches the user as a
traceback. `exit_code` is 2 for bad input and 1 for a failure while rendering.
"""

from __future__ import annotations

from dataclasses import dataclass

from .text import printable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the parser allows."""

    file: str
    message: str
    place: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = ": ".join(part for part in (where, self.place, self.message) if part)
        # One line: control characters from user input (a key named "a\nb") are escaped.
        return printable(text)


def at_origin(origin: Problem | None, problem: Problem) -> Problem:
    """`problem` told at the place its value was set, such as a playlist file's line.

    A value from the command line (an origin like "--cover") keeps the problem as it is:
    the problem already names the file the option gave."""
    if origin is None or origin.file.startswith("--"):
        return problem
    inner = f"{problem.file}: {problem.message}" if problem.file else problem.message
    return Problem(origin.file, inner, origin.place, origin.line)


class RlsaudioError(Exception):
    """Base class. `lines()` is what the user sees, one line per problem."""

    exit_code = 1

    def lines(self) -> list[str]:
        return [printable(str(self))]


class InputError(RlsaudioError):
    """Bad input the user can fix (exit status 2). May carry several problems."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems = [Problem("", p) if isinstance(p, str) else p for p in problems]
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class RoutineError(InputError):
    """A routine file is missing, unreadable or invalid."""


class PlaylistError(InputError):
    """A playlist file is missing, unreadable or invalid."""


class VoiceError(InputError):
    """A voice profile is unknown, invalid or cannot run on this machine."""


class PointsError(InputError):
    """A points file is missing, unreadable or invalid, or a point code is unknown."""


class FitError(InputError):
    """`--length` asks for a length the routine cannot be fitted to."""


class RenderError(RlsaudioError):
    """Something failed while rendering (exit status 1)."""


class EngineError(RenderError):
    """A speech engine failed to load, crashed, hung or produced no audio."""


class EncoderError(RenderError):
    """ffmpeg is missing or failed."""


class OutputError(RenderError):
    """An output file or folder could not be written."""


class TagError(RenderError):
    """Reading or writing ID3 tags failed."""
