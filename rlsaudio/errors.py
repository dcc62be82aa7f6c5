"""The project's error types.

Every problem a user can fix is raised as an RlsaudioError (or a child). The CLI turns
them into one line per problem and an exit status; nothing else reaches the user as a
traceback. `exit_code` is 2 for bad input and 1 for a failure while rendering.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the parser allows."""

    file: str
    message: str
    place: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.place}: {self.message}" if self.place else f"{where}: {self.message}"
        return _one_line(text)


def _one_line(text: str) -> str:
    """A problem is one line: control characters from user input (a key named "a\nb") are escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode() for ch in text)


class RlsaudioError(Exception):
    """Base class. `lines()` is what the user sees, one line per problem."""

    exit_code = 1

    def lines(self) -> list[str]:
        return [str(self)]


class InputError(RlsaudioError):
    """Bad input the user can fix (exit status 2). May carry several problems."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class RoutineError(InputError):
    """A routine file is missing, unreadable or invalid."""


class PlaylistError(InputError):
    """A playlist file is missing, unreadable or invalid."""


class VoiceError(InputError):
    """A voice profile is unknown, invalid or cannot run on this machine."""


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


class PointsError(InputError):
    """A points file is missing, unreadable or invalid, or a point code is unknown."""
