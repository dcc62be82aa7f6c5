"""`rlsaudio app`: the local web app, its state, and running it.

One starlette app behind serve's guard (guard.py), with the access key and the app's methods:
every request shows the key (Bearer header, the cookie, or ?key= on a GET) or gets 401; a
state-changing request from another site gets 403; the Host header must name the bound address
(421). The API (api.py), the page at /, the feed at /feed.xml (its URLs carry ?key=, for a phone's
podcast app), then serve's window on the output folder: the tracks, their pages, covers.

A GET with a valid ?key= sets the key cookie (HttpOnly, SameSite=Strict, Path=/), so the pages and
their audio work after a first visit from a link or the QR code; the page then drops the key from
the address bar (history.replaceState). It does not redirect: with SameSite=Strict a browser does
not send the cookie on a redirect that a link from another app or site started, so the redirected
page would get 401 on a phone.
"""

from __future__ import annotations

import os
import secrets
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..base.text import printable
from ..serve.guard import KEY_COOKIE, Guard, Policy, key_matches, presented_key
from ..serve.network import DEFAULT_PORT, bind, host_names, is_loopback, lan_address, qr_text, run_server, url_for
from ..serve.window import Folder, favicon, window_routes
from . import library
from .api import Refusal, api_routes
from .builds import Builds, Helper, Job
from .settings import VoiceChoices, parse_settings
from .uploads import Uploads

METHODS = ("GET", "HEAD", "POST", "DELETE")


class AppState:
    """Everything the routes share: the folder, the key, the queue, the helper, uploads, voices."""

    def __init__(self, out_dir: Path, key: str, voices: VoiceChoices, url: str, lan: bool):
        self.out_dir = out_dir
        self.folder = Folder(out_dir)
        self.key = key
        self.voices = voices
        self.url = url  # the app's address, without the key
        self.lan = lan
        self.uploads = Uploads()
        self.helper = Helper()
        self.records = library.Records()
        self.builds = Builds(out_dir, self._built)

    @property
    def key_query(self) -> str:
        return "?key=" + self.key

    def close(self) -> None:
        self.builds.close()
        self.uploads.close()

    # ------------------------------------------------------------------ settings and builds

    def settings(self, data: Any):
        return parse_settings(data, self.voices, self.uploads)

    def _built(self, job: Job) -> None:
        if job.result:
            self.records.put(job.result["path"], voice=job.result.get("voice", ""), mode=job.result.get("mode", ""))

    def _url(self, path: str) -> str:
        from ..publish.feed import url_path

        rel = os.path.relpath(os.path.realpath(path), self.folder.real).replace(os.sep, "/")
        return "/" + url_path(rel)

    def job_json(self, job: Job) -> dict:
        out: dict = {"id": job.id, "state": job.state, "progress": round(job.progress, 4), "error": job.error}
        if job.lines:
            out["lines"] = job.lines
        if job.state == "done" and job.result:
            audio = job.result["path"]
            stem = os.path.splitext(audio)[0]
            out["track"] = self._url(audio)
            out["page"] = self._url(stem + ".html") if os.path.exists(stem + ".html") else None
            out["title"] = job.result.get("title", "")
            out["name"] = os.path.relpath(stem, self.folder.real).replace(os.sep, "/")
            if job.result.get("routine_file"):
                from urllib.parse import quote

                out["routine_file"] = "/api/routine-files/" + quote(out["name"], safe="/")
            out["warnings"] = job.result.get("warnings", [])
        return out

    # ------------------------------------------------------------------ the library

    def _tracks(self):
        return self.folder.tracks() if os.path.isdir(self.folder.real) else []

    def track_list(self) -> list[dict]:
        tracks = self._tracks()
        found = [library.track_json(self.folder.real, t, self.records, "") for t in tracks]
        return sorted(found, key=lambda t: t["date"], reverse=True)

    def _track(self, name: str):
        track = library.find(self._tracks(), name)
        if track is None:
            raise Refusal(404, f"no track named {printable(name)[:200]!r} in the output folder")
        return track

    def delete_track(self, name: str, with_routine: bool) -> list[str]:
        return library.delete(self.folder.real, self._track(name), with_routine)

    def routine_file(self, name: str) -> tuple[Path, str]:
        track = self._track(name)
        path = library.routine_path(self.folder.real, track)
        if not library.is_our_routine(path):
            raise Refusal(404, "this track has no routine file made by rlsaudio beside it")
        return path, path.name

    # ------------------------------------------------------------------ the diary

    def diary_json(self) -> dict:
        from ..diary import FACTORS, Diary, last_night
        from ..diary.chart import chart
        from ..diary.summary import Period, summarise

        with Diary.open() as diary:
            entries = diary.entries()
        night = last_night()
        svg, _ = chart(summarise(entries, Period.weeks_ending(night, 4)))
        return {"entries": [e.as_json() for e in entries], "last_night": night.isoformat(),
                "factors": [{"name": f.name, "label": f.label} for f in FACTORS], "chart": svg}

    def diary_add(self, data: Any) -> dict:
        from ..diary import Diary, last_night

        if not isinstance(data, dict):
            raise Refusal(400, 'expected a JSON object like {"date": "2025-03-01", "restless": 4}')
        data = dict(data)
        track = data.pop("track", None)  # a session just listened to: added to the night's list
        if "date" not in data or data["date"] in (None, ""):
            data["date"] = last_night().isoformat()
        with Diary.open() as diary:
            changes = []
            if track is not None:
                if not isinstance(track, str):
                    raise Refusal(400, "track: expected a session's title")
                changes += diary.add_track(data["date"], track, source="app").as_json().get("changes", [])
            if len(data) > 1 or track is None:
                changes += diary.add_json(data, source="app").as_json().get("changes", [])
            entry = diary.entry(data["date"])
        return {"entry": entry.as_json() if entry else None, "changes": changes}

    # ------------------------------------------------------------------ the phone

    def phone_json(self) -> dict:
        out = {"lan": self.lan, "url": self.url + self.key_query, "feed": self.url + "feed.xml" + self.key_query,
               "qr": None}
        if self.lan:
            import segno

            out["qr"] = segno.make_qr(out["url"], error="m").svg_inline(scale=5, dark="#000", light="#fff")
        return out


# --------------------------------------------------------------------------- the ASGI app


@cache
def _asset(name: str) -> str:
    return (resources.files(__package__) / name).read_text(encoding="utf-8")


def page_html() -> str:
    return _asset("app.html").replace("@@CSS@@", _asset("app.css")).replace("@@JS@@", _asset("app.js"))


# Every answer says the app sent it: a listen-along page asks for the diary only then (page.js).
APP_HEADER = (b"x-rlsaudio-app", b"1")


class KeyCookie:
    """A GET that shows a valid ?key= gets the key cookie in its answer; every answer, APP_HEADER."""

    def __init__(self, app, key: str):
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given, how = presented_key(scope)
        extra = [APP_HEADER]
        if how == "query" and key_matches(given, self.key):
            extra.append((b"set-cookie", f"{KEY_COOKIE}={self.key}; HttpOnly; SameSite=Strict; Path=/".encode()))

        async def with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, with_cookie)


def create_app(state: AppState, hosts: frozenset[str], port: int | None):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from ..publish.feed import FEED_NAME, FEED_TYPE, build_feed, folder_title, machine_identity
    from ..serve.files import bytes_response

    def page(request):
        return HTMLResponse(page_html(), headers={"cache-control": "no-store"})

    def feed(request):
        body = build_feed(state._tracks(), base_url=str(request.base_url), title=folder_title(state.out_dir),
                          identity=machine_identity(state.out_dir), url_query=state.key_query)
        return bytes_response(request, body, FEED_TYPE)

    def no_content(request):
        return Response(status_code=204)

    routes = [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/" + FEED_NAME, feed, methods=["GET", "HEAD"]),
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Route("/robots.txt", no_content, methods=["GET", "HEAD"]),
        *api_routes(state),
        *window_routes(state.folder, lambda request: state.key_query),
    ]
    policy = Policy(hosts=hosts, methods=METHODS, key=state.key, port=port, open_paths=frozenset({"/favicon.ico"}))
    return Guard(KeyCookie(Starlette(routes=routes), state.key), policy)


# --------------------------------------------------------------------------- running


def _echo(text: str = "", out=None) -> None:
    out = out or sys.stdout
    out.write(text + "\n")
    out.flush()


def run_app(out_dir: Path, port: int = DEFAULT_PORT, lan: bool = False, browser: bool = True,
            voice_files: tuple[str, ...] = (), out=None) -> int:
    """Run the app until Ctrl-C or SIGTERM; returns the exit status (0)."""
    from ..publish.output import check_output_dir

    check_output_dir(out_dir)
    voices = VoiceChoices(voice_files)
    host = lan_address() if lan else "127.0.0.1"
    sock = bind(host, port)
    port = sock.getsockname()[1]
    bound = sock.getsockname()[0]
    url = url_for(bound, port)
    key = secrets.token_urlsafe(24)
    state = AppState(out_dir, key, voices, url, lan)
    app = create_app(state, host_names(bound), port)
    address = url + "?key=" + key
    _banner(out_dir, bound, address, out)
    if browser:
        import webbrowser

        try:
            webbrowser.open(address)
        except Exception:  # no browser here: the address is printed above
            pass
    try:
        run_server(app, sock)
    finally:
        state.close()
    tty = getattr(out or sys.stdout, "isatty", lambda: False)()
    _echo(("\r\033[K" if tty else "") + "stopped", out)
    return 0


def _banner(out_dir: Path, host: str, address: str, out) -> None:
    stream = out or sys.stdout
    _echo(f"rlsaudio app: {address}", out)
    _echo(f"Tracks go to {out_dir}{'' if out_dir.exists() else ' (made with the first track)'}. "
          f"Open the address above in your browser if it did not open by itself.", out)
    if not is_loopback(host):
        _echo("On your phone, on the same Wi-Fi, open that address or scan:", out)
        encoding = (getattr(stream, "encoding", None) or "ascii").lower().replace("-", "")
        colour = bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")
        stream.write(qr_text(address, colour=colour, unicode=encoding in ("utf8", "utf16", "utf32")))
        _echo("Anyone with this address (its key) on this network can use the app while it runs: share it only "
              "with your own devices.", out)
    _echo("Press Ctrl-C to stop.", out)
