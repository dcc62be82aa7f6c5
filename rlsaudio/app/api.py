"""The app's JSON API (the page uses it; tests and scripts may too).

    GET    /api/routines                 the bundled routines
    GET    /api/points                   the point library, with its figures (SVG) and positions
    GET    /api/voices                   the voices, whether each can run here, the default
    GET    /api/voices/{name}/sample     a few seconds of a voice (WAV)
    GET    /api/tracks                   every track in the output folder
    DELETE /api/tracks/{name}            a track and its sidecars (?routine=1: its routine file too)
    GET    /api/routine-files/{name}     a track's editable routine file, as compose wrote it
    POST   /api/uploads?name=FILE        a routine file (the body), checked like any routine file
    POST   /api/plan                     the plan as `plan --json` prints it ("details": true adds the
                                         lengths --length accepts, cautions, warnings)
    POST   /api/builds                   202 {"id": ...}
    GET    /api/builds/{id}              {"state", "progress", "error", "track", "page", ...}
    DELETE /api/builds/{id}              cancel
    GET    /api/diary, POST /api/diary   the diary's nights, and one night added or updated
    GET    /api/phone                    the addresses for a phone: the app, the feed, a QR code

Bad input is a 400 (a length that cannot fit, a voice that cannot run here: 422) with
{"error": "...", "lines": [...]}: the lines the CLI prints for the same problem. Bodies are
bounded (limits.py) and must arrive within BODY_TIMEOUT_S; never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..base import limits
from ..base.errors import RlsaudioError
from .worker import status_of


class Refusal(Exception):
    """A request refused with a status and one or more lines."""

    def __init__(self, status: int, lines: list[str] | str, **extra):
        self.status = status
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        self.extra = extra
        super().__init__("\n".join(self.lines))


def error_response(status: int, lines: list[str], **extra):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": "\n".join(lines), "lines": lines, **extra}, status_code=status,
                        headers={"cache-control": "no-store"})


def ok(data: Any, status: int = 200):
    from starlette.responses import JSONResponse

    return JSONResponse(data, status_code=status, headers={"cache-control": "no-store"})


async def read_body(request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes (else 413), within BODY_TIMEOUT_S (else 408)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise Refusal(400, "the Content-Length header is not a number")
        if int(length) > limit:
            raise Refusal(413, f"the request is larger than the {limit // 1024} kB allowed")
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refusal(413, f"the request is larger than the {limit // 1024} kB allowed")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(collect(), limits.BODY_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise Refusal(408, f"the request's body did not arrive within {limits.BODY_TIMEOUT_S:g} s") from None
    return b"".join(chunks)


async def read_json(request, limit: int = limits.MAX_JSON_BODY_BYTES) -> Any:
    body = await read_body(request, limit)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refusal(400, f"the request body is not JSON: {str(exc)[:120]}") from None


def handled(func):
    """Every endpoint: refusals and rlsaudio's errors become one JSON answer, never a traceback."""
    import functools

    @functools.wraps(func)
    async def wrapper(request):
        try:
            return await func(request)
        except Refusal as exc:
            return error_response(exc.status, exc.lines, **exc.extra)
        except RlsaudioError as exc:
            return error_response(_status(exc), exc.lines())
        except Exception as exc:  # a bug: say so in one line; the log has the rest
            import logging

            logging.getLogger("uvicorn.error").exception("the app failed on %s", request.url.path)
            return error_response(500, [f"the app failed unexpectedly ({type(exc).__name__}); see its terminal"])

    return wrapper


def _status(exc: RlsaudioError) -> int:
    from ..diary import DiaryStorageError

    if isinstance(exc, DiaryStorageError):
        return 503
    return status_of(exc)


def _threaded(fn, *args):
    from starlette.concurrency import run_in_threadpool

    return run_in_threadpool(fn, *args)


# --------------------------------------------------------------------------- routes


def api_routes(state) -> list:
    from starlette.responses import Response
    from starlette.routing import Route

    @handled
    async def routines(request):
        return ok(await _threaded(_routines))

    @handled
    async def points(request):
        return ok(await _threaded(_points))

    @handled
    async def voices(request):
        return ok(await _threaded(state.voices.describe))

    @handled
    async def voice_sample(request):
        name = request.path_params["name"]
        if name not in state.voices.refs:
            raise Refusal(404, f"no voice {name!r}; voices: " + ", ".join(state.voices.names()))
        outcome, value = await _threaded(state.helper.sample, name, state.voices.refs[name])
        if outcome != "done":
            status, lines = value
            raise Refusal(status, lines)
        return Response(value, media_type="audio/wav", headers={"cache-control": "private, max-age=3600"})

    @handled
    async def tracks(request):
        return ok(await _threaded(state.track_list))

    @handled
    async def delete_track(request):
        name = request.path_params["name"]
        removed = await _threaded(state.delete_track, name, request.query_params.get("routine") in ("1", "true"))
        return ok({"deleted": removed})

    @handled
    async def routine_file(request):
        path, name = await _threaded(state.routine_file, request.path_params["name"])
        data = await _threaded(path.read_bytes)
        quoted = name.encode("ascii", "replace").decode().replace('"', "'")
        from urllib.parse import quote

        return Response(data, media_type="application/toml; charset=utf-8", headers={
            "content-disposition": f"attachment; filename=\"{quoted}\"; filename*=UTF-8''{quote(name)}",
            "cache-control": "no-store"})

    @handled
    async def upload(request):
        body = await read_body(request, limits.MAX_UPLOAD_BYTES)
        found = await _threaded(state.uploads.add, body, request.query_params.get("name"))
        return ok(found.as_json(), 201)

    @handled
    async def plan(request):
        data = await read_json(request)
        details = bool(isinstance(data, dict) and data.pop("details", False))
        estimate = bool(isinstance(data, dict) and data.pop("estimate", False))
        settings = state.settings(data)
        if estimate:
            from .worker import plan_details

            result = await _threaded(plan_details, settings, True)
        else:
            outcome, result = await _threaded(state.helper.plan, settings)
            if outcome != "done":
                status, lines = result
                raise Refusal(status, lines)
        if "plan" not in result:
            raise Refusal(result.get("status", 422), result["lines"], **({"range": result["range"]} if details else {}))
        return ok(result if details else result["plan"])

    @handled
    async def start_build(request):
        from .builds import QueueFull

        settings = state.settings(await read_json(request))
        try:
            job = state.builds.submit(settings)
        except QueueFull as exc:
            raise Refusal(429, str(exc)) from None
        return ok({"id": job.id}, 202)

    def job_answer(job):
        if job is None:
            raise Refusal(404, "no such build (the app forgets builds when it stops)")
        return ok(state.job_json(job))

    @handled
    async def build_state(request):
        return job_answer(state.builds.get(request.path_params["id"]))

    @handled
    async def cancel_build(request):
        return job_answer(state.builds.cancel(request.path_params["id"]))

    @handled
    async def diary_get(request):
        return ok(await _threaded(state.diary_json))

    @handled
    async def diary_post(request):
        data = await read_json(request)
        return ok(await _threaded(state.diary_add, data))

    @handled
    async def phone(request):
        return ok(state.phone_json())

    return [
        Route("/api/routines", routines, methods=["GET", "HEAD"]),
        Route("/api/points", points, methods=["GET", "HEAD"]),
        Route("/api/voices", voices, methods=["GET", "HEAD"]),
        Route("/api/voices/{name}/sample", voice_sample, methods=["GET", "HEAD"]),
        Route("/api/tracks", tracks, methods=["GET", "HEAD"]),
        Route("/api/tracks/{name:path}", delete_track, methods=["DELETE"]),
        Route("/api/routine-files/{name:path}", routine_file, methods=["GET", "HEAD"]),
        Route("/api/uploads", upload, methods=["POST"]),
        Route("/api/plan", plan, methods=["POST"]),
        Route("/api/builds", start_build, methods=["POST"]),
        Route("/api/builds/{id}", build_state, methods=["GET", "HEAD"]),
        Route("/api/builds/{id}", cancel_build, methods=["DELETE"]),
        Route("/api/diary", diary_get, methods=["GET", "HEAD"]),
        Route("/api/diary", diary_post, methods=["POST"]),
        Route("/api/phone", phone, methods=["GET", "HEAD"]),
        Route("/api/{rest:path}", _unknown, methods=["GET", "HEAD", "POST", "DELETE"]),
    ]


@handled
async def _unknown(request):
    raise Refusal(404, f"no such API path: {request.url.path[:100]}")


def _routines() -> list[dict]:
    from ..script.routine import bundled_ids
    from ..script.routinefile import load_bundled

    out = []
    for routine_id in bundled_ids():
        routine = load_bundled(routine_id)
        out.append({"id": routine_id, "title": routine.title, "description": routine.description,
                    "author": routine.author, "steps": len(routine.steps)})
    return out


def _points() -> dict:
    from ..publish.page import figure_svg
    from ..script.pointfile import load_library
    from ..script.points import point_json

    library = load_library()
    figures = {name: {"title": f.title, "viewbox": list(f.viewbox), "view": f.view, "svg": figure_svg(f)}
               for name, f in library.figures.items()}
    return {"points": [point_json(library, p) for p in library.points], "figures": figures}
