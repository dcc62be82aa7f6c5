"""`rlsaudio diary`: the sleep and symptom diary: add a night, show, export, import, the doctor's page.

Values typed here are checked by rlsaudio.diary's validate_fields, the same check the app's
JSON goes through, so both fail with the same words. Text from the diary (notes, titles) is
printed with its control characters escaped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diary.entry import EVENING_HOUR, FACTORS, FIELDS, show
from .options import CONTEXT, table
from .process import err, isatty

FACTOR_NAMES = ", ".join(f.name for f in FACTORS)

# The questions asked one at a time on a terminal, in order: (field, question).
QUESTIONS = (
    ("onset", "When did the symptoms begin (HH:MM)"),
    ("restless", "Restlessness before the session, 0 (none) to 10 (worst)"),
    ("sleep", "Sleep quality, 0 (none) to 10 (best)"),
    ("minutes_to_sleep", "Minutes to fall asleep"),
    ("woke", "Times woken"),
    ("tracks", "Sessions listened to (titles, separated by ;)"),
    ("factors", f"Before the night ({FACTOR_NAMES}; separated by commas)"),
    ("note", "Note"),
)


@click.group(context_settings=CONTEXT)
def diary():
    """Keep a sleep and symptom diary, one entry per night, and make a page for your doctor.

    The diary is one file on this computer (rlsaudio diary path shows where; RLSAUDIO_HOME
    names another folder). Nothing is sent anywhere. A night is named by the date of its
    evening: the night of 1 March runs into the morning of 2 March.

    \b
    Examples:
      rlsaudio diary add --restless 6 --sleep 4 --factor caffeine
      rlsaudio diary add                 (on a terminal: asks the questions)
      rlsaudio diary show
      rlsaudio diary report --weeks 4 -o diary.html
    """


def _open():
    from ..diary import Diary

    return Diary.open()


def _entries():
    """Every night, oldest first; a diary that does not exist yet is empty (and is not made)."""
    import os

    from ..diary import default_path

    if not os.path.lexists(default_path()):
        return []
    with _open() as book:
        return book.entries()


# --------------------------------------------------------------------------- add


@diary.command()
@click.option("--date", metavar="YYYY-MM-DD", help=f"The night, by the date of its evening (default: last night: "
              f"yesterday's until {EVENING_HOUR}:00, today's from then on).")
@click.option("--onset", metavar="HH:MM", help="When the symptoms began, e.g. 21:30.")
@click.option("--restless", metavar="N", help="Restlessness before the session, 0 (none) to 10 (worst).")
@click.option("--sleep", metavar="N", help="Sleep quality, 0 (none) to 10 (best).")
@click.option("--minutes-to-sleep", "minutes_to_sleep", metavar="N", help="Minutes it took to fall asleep.")
@click.option("--woke", metavar="N", help="Times woken in the night.")
@click.option("--track", "tracks", metavar="TITLE", multiple=True,
              help="A session listened to that evening (repeat for several; replaces the night's list).")
@click.option("--factor", "factors", metavar="NAME", multiple=True,
              help=f"What came before the night: {FACTOR_NAMES} (repeat, or separate with commas; replaces the "
                   "night's list).")
@click.option("--note", metavar="TEXT", help="A free note.")
@click.option("--clear", "clear", metavar="FIELD", multiple=True, type=click.Choice(FIELDS[1:]),
              help="Empty a field of the night (repeatable), e.g. --clear note.")
def add(date, onset, restless, sleep, minutes_to_sleep, woke, tracks, factors, note, clear):
    """Add a night to the diary, or change some of its values.

    A second add for the same night changes only the values it gives, keeps the others and
    prints what changed (old -> new). On a terminal without values, it asks the questions one
    at a time.

    \b
    Examples:
      rlsaudio diary add --restless 6 --onset 21:30 --track "Acupressure for restless legs"
      rlsaudio diary add --date 2025-03-01 --sleep 7 --minutes-to-sleep 20 --woke 1
      rlsaudio diary add --factor caffeine --factor sitting --note "Long drive"
    """
    from ..diary import DiaryError, last_night, validate_fields

    given = {k: v for k, v in (("onset", onset), ("restless", restless), ("sleep", sleep),
                               ("minutes_to_sleep", minutes_to_sleep), ("woke", woke), ("note", note)) if v is not None}
    if tracks:
        given["tracks"] = list(tracks)
    if factors:
        given["factors"] = [name.strip() for item in factors for name in item.split(",") if name.strip()]
    for field in clear:
        if field in given:
            raise click.UsageError(f"give --{field.replace('_', '-')} or --clear {field}, not both")
        given[field] = None
    day = date if date is not None else last_night().isoformat()
    if not given and not (isatty(sys.stdin) and isatty(sys.stdout)):
        raise DiaryError("nothing to add: give a value such as --restless 4 (see rlsaudio diary add -h), "
                         "or run it on a terminal to be asked the questions")
    values = validate_fields({"date": day, **given})  # checked before the diary file is opened or made
    with _open() as book:
        if not given:
            values = _ask(book, values["date"], ask_date=date is None)
            if values is None:
                click.echo("Nothing to add.")
                return
        _print_changes(book.add_json(values, source="cli"))


def _ask(book, day: str, ask_date: bool) -> dict | None:
    """The questions, one at a time; a bad answer is explained and asked again."""
    from ..diary import validate_fields

    click.echo("A few questions about one night. Enter skips a question (and keeps what the diary has); "
               "- empties it; Ctrl-C stops without saving.")
    if ask_date:
        day = _prompt("Which night (the date of its evening, YYYY-MM-DD)", day,
                      lambda text: validate_fields({"date": text or day})["date"])
    old = book.entry(day)
    click.echo(f"The night of {day}" + (" (in the diary: its values are shown in brackets)." if old else "."))
    values: dict = {}
    for field, question in QUESTIONS:
        current = getattr(old, field) if old else None
        shown = "" if current in (None, ()) else show(field, current)

        def check(text: str, field=field):
            if text == "-":
                return None
            return validate_fields({field: _split(field, text)}, partial=True)[field]

        try:
            answer = _prompt(question, shown, check, keep=True)
        except _Skip:
            continue
        values[field] = answer
    if not values:
        return None
    return {"date": day, **values}


class _Skip(Exception):
    """Enter on a question: keep what the diary has."""


def _split(field: str, text: str):
    if field == "tracks":
        return [t for t in text.split(";") if t.strip()]
    if field == "factors":
        return [f for f in text.split(",") if f.strip()]
    return text


def _prompt(question: str, current: str, check, keep: bool = False):
    from ..diary import DiaryError

    while True:
        suffix = f" [{current}]" if current else ""
        text = click.prompt(question + suffix, default="", show_default=False, prompt_suffix=": ").strip()
        if not text and keep:
            raise _Skip()
        try:
            return check(text)
        except DiaryError as exc:
            for line in exc.lines():
                err(line)


def _print_changes(changes) -> None:
    if changes.created:
        filled = [c for c in changes.fields]
        click.echo(f"Added the night of {changes.date}" + (":" if filled else " (no values yet)."))
        for change in filled:
            click.echo(f"  {change.field}: {show(change.field, change.new)}")
    elif changes.fields:
        click.echo(f"Updated the night of {changes.date}:")
        for change in changes.fields:
            click.echo(f"  {change}")
    else:
        click.echo(f"The night of {changes.date} already had these values; nothing changed.")


# --------------------------------------------------------------------------- show


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "\u2026"


@diary.command(name="show")
@click.option("--json", "as_json", is_flag=True,
              help="Every night as JSON: a list of objects with the fields " + ", ".join(FIELDS) + ".")
@click.option("-n", "--nights", type=click.IntRange(1, 100_000), default=14, show_default=True,
              help="How many of the latest nights the table shows.")
def show_(as_json, nights):
    """Show the latest nights as a table, or every night as JSON.

    \b
    Examples:
      rlsaudio diary show
      rlsaudio diary show --json > diary.json
    """
    from ..base.text import printable
    from ..diary import default_path
    from ..diary.exchange import dump_json

    entries = _entries()
    if as_json:
        click.echo(dump_json(entries), nl=False)
        return
    if not entries:
        click.echo(f"No nights in the diary yet ({default_path()}); add one with: rlsaudio diary add")
        return
    rows = []
    for e in entries[-nights:]:
        rows.append((e.date, e.onset or "", _number(e.restless), _number(e.sleep), _number(e.minutes_to_sleep),
                     _number(e.woke), ",".join(e.factors), _cut(printable("; ".join(e.tracks)), 32),
                     _cut(printable(" / ".join((e.note or "").splitlines())), 40)))
    table(("night", "began", "restless", "sleep", "to sleep", "woke", "factors", "sessions", "note"), rows,
          right=(2, 3, 4, 5))


def _number(value) -> str:
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- files


@diary.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def export(file, force):
    """Write every night to FILE: CSV or JSON, chosen by its suffix (.csv, .json).

    An existing FILE is kept unless --force is given. CSV opens in a spreadsheet; JSON is what
    rlsaudio diary show --json prints. rlsaudio diary import reads both back.

    \b
    Examples:
      rlsaudio diary export diary.csv
      rlsaudio diary export ~/backup/diary.json --force
    """
    from ..diary.exchange import format_of

    suffix = format_of(file)  # before the diary is opened: a bad name never makes a diary
    with _open() as book:
        count = book.export(file, force=force)
    click.echo(f"{file}: {count} {'night' if count == 1 else 'nights'} ({suffix[1:].upper()})")


@diary.command(name="import")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Where a night differs from the diary, take the file's values "
              "(default: keep the diary's).")
def import_(file, replace):
    """Read nights from FILE (CSV or JSON, as rlsaudio diary export writes them).

    A night already in the diary with the same values is skipped as a duplicate; one that
    differs keeps the diary's values unless --replace. An empty cell never empties a value. A
    bad value anywhere imports nothing.

    \b
    Examples:
      rlsaudio diary import diary.csv
      rlsaudio diary import phone-export.json --replace
    """
    from ..diary.exchange import format_of

    format_of(file)
    with _open() as book:
        result = book.import_(file, replace=replace)
    parts = [f"{len(result.added)} added", f"{len(result.duplicates)} already in the diary (skipped)"]
    if result.conflicts:
        parts.append(f"{len(result.conflicts)} different from the diary ("
                     + ("took the file's values" if replace else "kept the diary's; --replace takes the file's")
                     + "; diary -> file)")
    click.echo(f"{file}: {result.nights} {'night' if result.nights == 1 else 'nights'}: " + ", ".join(parts)
               + (":" if result.conflicts else ""))
    for changes in result.conflicts:
        click.echo(f"  {changes.date}: " + "; ".join(str(c) for c in changes.fields))


@diary.command()
@click.option("--weeks", type=click.IntRange(1, 12), default=4, show_default=True,
              help="How many weeks, ending last night.")
@click.option("--end", metavar="YYYY-MM-DD", help="The last night shown (default: last night).")
@click.option("-o", "--output", "out_file", type=click.Path(dir_okay=True, path_type=Path),
              default=Path("diary-report.html"), show_default=True, help="The page to write (.html).")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
def report(weeks, end, out_file, force):
    """Write a printable page for your doctor: N weeks of the diary on one A4 page.

    A chart of restlessness and sleep quality with the nights of each session marked, when the
    symptoms began, the averages on nights with and without each session and factor (with the
    number of nights behind each), and the notes. One HTML file: open it in a browser and print.

    \b
    Examples:
      rlsaudio diary report --weeks 4 -o diary.html
      rlsaudio diary report --weeks 8 --end 2025-03-01 -o march.html --force
    """
    import datetime as dt

    from ..base.errors import Problem
    from ..diary import DiaryError, last_night, validate_fields
    from ..diary.exchange import save
    from ..diary.report import report as page

    if out_file.suffix.lower() not in (".html", ".htm"):
        raise DiaryError(Problem(str(out_file), "the report is an HTML page; give a file name ending in .html"))
    last = dt.date.fromisoformat(validate_fields({"date": end})["date"]) if end else last_night()
    html = page(_entries(), last, weeks)
    save(out_file, html.encode("utf-8"), force)
    start = last - dt.timedelta(days=7 * weeks - 1)
    click.echo(f"{out_file}: {weeks} {'week' if weeks == 1 else 'weeks'}, the nights of {start} to {last}")


@diary.command()
def path():
    """Print where the diary file is (RLSAUDIO_HOME names another folder).

    \b
    Example:
      rlsaudio diary path
    """
    from ..diary import default_path

    click.echo(str(default_path()))
