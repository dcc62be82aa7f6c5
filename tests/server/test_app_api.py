"""`rlsaudio app`'s API over real HTTP: every path, builds and their cancel, uploads, the diary, and
the access rules (key, Host, Origin, traversal, body sizes, idle connections).

One app per module (started as a person starts it, with the fake voice offered); tests that need
a fresh one start their own.
"""

import json
import os
import socket
import subprocess
import sys
import time
import wave
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest
from appserver import start_app, stop_app, wait_build
from places import FAKE_VOICE, ROOT, tiny_routine

from rlsaudio.base import limits

# Hangs on a phrase only the cancel test speaks: a phrase already in the speech cache never reaches
# the engine.
SLOW_VOICE = '''description = "fake, and it never finishes its first phrase"
engine = "fake"
words_per_minute = 375
hang_on = "Liver 3"
'''


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    slow = tmp / "slow.toml"
    slow.write_text(SLOW_VOICE, encoding="utf-8")
    outside = tmp / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    running = start_app(tmp, str(slow))
    running.tmp = tmp
    yield running
    assert stop_app(running) in (0, 130), "".join(running.lines)


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def cli(*args, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RLSAUDIO_TEST_ENGINES="1", RLSAUDIO_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "rlsaudio", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


# --------------------------------------------------------------------------- reading


def test_the_printed_address_carries_a_key_and_sets_the_cookie(app):
    assert app.lines[0].startswith("rlsaudio app: http://127.0.0.1:")
    answer = app.request("GET", "/", key="query")
    assert answer.status == 200
    cookie = answer.headers["set-cookie"]
    assert cookie == f"rlsaudio_key={app.key}; HttpOnly; SameSite=Strict; Path=/"
    assert b'id="tab-make"' in answer.body
    assert app.request("GET", "/", key="cookie").status == 200
    assert "access-control-allow-origin" not in answer.headers


def test_routines_points_voices(app):
    status, routines = app.json("GET", "/api/routines")
    assert status == 200 and {"acupressure", "foot-reflexology"} <= {r["id"] for r in routines}
    status, points = app.json("GET", "/api/points")
    assert status == 200
    sp6 = next(p for p in points["points"] if p["code"] == "SP 6")
    assert sp6["figure"] in points["figures"] and sp6["positions"]
    assert points["figures"][sp6["figure"]]["svg"].startswith("<svg")
    assert sp6["cautions"] and sp6["location"]
    status, voices = app.json("GET", "/api/voices")
    names = {v["name"]: v for v in voices}
    assert {"joe", "espeak", "fake", "slow"} <= set(names)
    assert sum(v["default"] for v in voices) == 1


def test_a_voice_sample_is_a_short_wav(app):
    answer = app.request("GET", "/api/voices/fake/sample")
    assert answer.status == 200 and answer.headers["content-type"] == "audio/wav"
    with wave.open(BytesIO(answer.body)) as w:
        assert 0.5 < w.getnframes() / w.getframerate() < 15
    assert app.request("GET", "/api/voices/nobody/sample").status == 404


def test_the_plan_is_what_plan_json_prints(app, tmp_path):
    settings = {"routine": "acupressure", "mode": "bedtime", "length": "50m", "voice": "fake"}
    status, planned = app.json("POST", "/api/plan", settings)
    assert status == 200, planned
    done = cli("plan", "acupressure", "--mode", "bedtime", "--length", "50m", "--voice", FAKE_VOICE, "--json",
               cwd=tmp_path, home=app.home)
    assert done.returncode == 0, done.stderr
    assert planned == json.loads(done.stdout)


def test_the_plan_with_details_gives_the_range_and_cautions(app):
    status, details = app.json("POST", "/api/plan", {"points": ["SP 6", "K 3"], "length": "12m", "voice": "fake",
                                                      "details": True})
    assert status == 200, details
    assert details["plan"]["duration"] == 720.0
    assert details["range"]["min"] < 720 < details["range"]["max"]
    assert details["cautions"]["SP 6"] == ["Skip this point if you are pregnant."]
    assert [c.get("point") for c in details["plan"]["chapters"] if c.get("point")] == ["SP 6", "SP 6", "K 3", "K 3"]


def test_a_length_out_of_range_is_422_in_plain_words(app):
    status, body = app.json("POST", "/api/plan", {"points": ["SP 6", "K 3"], "length": "1m", "voice": "fake",
                                                   "details": True})
    assert status == 422
    assert body["lines"] == [body["error"]]
    assert body["error"].startswith("length: cannot fit 'Acupressure: SP 6, K 3' to 1m 00s: with its points pressed "
                                    "in rounds within the sources' limits it can last from ")
    assert body["error"].endswith("; choose a length in that range")
    assert body["range"]["min"] > 60
    status, body = app.json("POST", "/api/builds", {"points": ["SP 6"], "length": "13h"})
    assert status == 400 and body["lines"] == ["length: a length must be at most 12h, got 13h"]


@pytest.mark.parametrize("settings, line", [
    ({"points": ["SP 66"]}, 'points: unknown point "SP 66"; of the Spleen channel the library holds only SP 6 and SP 12'),
    ({"routine": "nope"}, "routine: no bundled routine 'nope'; bundled: acupressure, foot-reflexology"),
    ({"routine": "acupressure", "voice": "/etc/passwd"}, 'voice: unknown voice "/etc/passwd"; use '),
    ({"routine": "acupressure", "soundscape": "/etc/passwd"}, 'soundscape: unknown soundscape "/etc/passwd"; use brown or pink'),
    ({"routine": "acupressure", "colour": "red"}, "colour: unknown setting; known settings: "),
    ({"points": ["SP 6"], "mode": "party"}, 'mode: unknown mode "party"; use massage or bedtime'),
    ([], 'settings: expected a JSON object like {"routine": "acupressure"}'),
])
def test_bad_settings_are_400_with_one_line_each(app, settings, line):
    status, body = app.json("POST", "/api/plan", settings)
    assert status == 400, body
    assert body["lines"][0].startswith(line), body


def test_malformed_json_is_400(app):
    answer = app.request("POST", "/api/builds", b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status == 400 and answer.json()["error"].startswith("the request body is not JSON")


# --------------------------------------------------------------------------- uploads


def test_a_bad_routine_upload_gets_validate_s_lines(app, tmp_path):
    bad = 'title = "Bad"\n[[steps]]\ntitle = "A"\nsay = "Hello."\nhold = -2\nrepeat = 1000\n'
    (tmp_path / "calf.toml").write_text(bad, encoding="utf-8")
    done = cli("validate", "calf.toml", cwd=tmp_path, home=app.home)
    assert done.returncode == 2
    status, body = app.json("POST", "/api/uploads?name=calf.toml", bad.encode())
    assert status == 400
    assert body["lines"] == done.stderr.splitlines()
    assert len(body["lines"]) == 2


def test_an_upload_cannot_name_a_file_to_read(app):
    for text, words in [
        ('name = "x"\ncover = "/etc/passwd"\n[[tracks]]\nroutine = "/etc/passwd"\n', "this is a playlist"),
        ('engine = "fake"\n', "this is a voice profile"),
        ('title = "x"\nsoundscape = "/etc/passwd"\n[[steps]]\nsay = "Hi."\nhold = 2\n',
         "soundscape: a file uploaded to the app cannot name another file"),
    ]:
        status, body = app.json("POST", "/api/uploads?name=x.toml", text.encode())
        assert status == 400 and words in body["error"], body


def test_an_upload_over_the_size_limit_is_refused(app):
    big = b"# " + b"x" * limits.MAX_UPLOAD_BYTES
    answer = app.request("POST", "/api/uploads?name=big.toml", big)
    assert answer.status == 413
    assert "larger than" in answer.json()["error"]
    answer = app.request("POST", "/api/plan", b"[" + b"1," * limits.MAX_JSON_BODY_BYTES + b"1]")
    assert answer.status == 413


# --------------------------------------------------------------------------- builds and tracks


def test_build_list_download_and_delete_a_track(app):
    status, up = app.json("POST", "/api/uploads?name=tiny.toml", tiny_routine("Tiny one").encode())
    assert status == 201, up
    status, job = app.json("POST", "/api/builds", {"upload": up["id"], "voice": "fake"})
    assert status == 202 and set(job) == {"id"}
    state = wait_build(app, job["id"])
    assert state["state"] == "done" and state["progress"] == 1.0, state
    assert state["track"] == "/Tiny%20one.mp3" and state["page"] == "/Tiny%20one.html"
    assert "routine_file" not in state  # an uploaded routine stays the person's own file
    assert app.request("GET", state["track"]).status == 200
    assert app.request("GET", state["track"], key=None).status == 401
    assert app.request("GET", state["track"], key="query").status == 200  # a podcast app's link
    status, tracks = app.json("GET", "/api/tracks")
    mine = next(t for t in tracks if t["name"] == "Tiny one")
    assert mine["title"] == "Tiny one" and mine["voice"] == "fake" and mine["format"] == "mp3"
    assert mine["mode"] == "massage" and 2 < mine["length"] < 30
    feed = app.request("GET", "/feed.xml", key="query").body.decode()
    assert f'/Tiny%20one.mp3?key={app.key}"' in feed
    (app.out / "notes.txt").write_text("mine", encoding="utf-8")
    before = files_in(app.out)
    status, body = app.json("DELETE", "/api/tracks/" + quote("Tiny one"))
    assert status == 200, body
    assert sorted(body["deleted"]) == ["Tiny one.chapters.json", "Tiny one.chapters.vtt", "Tiny one.html",
                                       "Tiny one.lrc", "Tiny one.mp3", "Tiny one.vtt"]
    assert sorted(set(before) - set(files_in(app.out))) == sorted(body["deleted"])
    assert (app.out / "notes.txt").read_text() == "mine"
    assert app.json("DELETE", "/api/tracks/" + quote("Tiny one"))[0] == 404


def test_a_composed_track_keeps_its_routine_file_unless_asked(app):
    status, job = app.json("POST", "/api/builds", {"points": ["K 3"], "hold": "1m", "voice": "fake",
                                                    "title": "Routine kept"})
    assert status == 202
    state = wait_build(app, job["id"])
    assert state["state"] == "done", state
    routine = app.request("GET", state["routine_file"])
    assert routine.status == 200 and routine.body.startswith(b"# Written by rlsaudio (sha256 ")
    assert routine.body.split(b"\n")[1].startswith(b"# Made by `rlsaudio compose`")
    assert "attachment" in routine.headers["content-disposition"]
    assert app.json("DELETE", "/api/tracks/" + quote(state["name"]))[0] == 200
    assert (app.out / "Routine kept.toml").exists()
    status, job = app.json("POST", "/api/builds", {"points": ["K 3"], "hold": "1m", "voice": "fake",
                                                    "title": "Routine kept"})
    assert wait_build(app, job["id"])["state"] == "done"
    assert app.json("DELETE", "/api/tracks/" + quote("Routine kept") + "?routine=1")[0] == 200
    assert not any(p.name.startswith("Routine kept") for p in app.out.iterdir())


def test_cancel_mid_speech_leaves_nothing_behind(app, tmp_path):
    out_before = files_in(app.out)
    status, job = app.json("POST", "/api/builds", {"points": ["LV 3", "K 3"], "length": "12m", "voice": "slow"})
    assert status == 202
    state = wait_build(app, job["id"], condition=lambda s: s["state"] == "running" and s["progress"] > 0)
    assert state["state"] == "running"
    time.sleep(0.5)  # inside the hanging phrase
    status, state = app.json("DELETE", f"/api/builds/{job['id']}")
    assert status == 200
    state = wait_build(app, job["id"], timeout=30)
    assert state["state"] == "cancelled", state
    assert files_in(app.out) == out_before
    assert not [p for p in app.out.parent.rglob(".rlsaudio-tmp-*")]
    # the queue goes on: the next build runs
    status, job = app.json("POST", "/api/builds", {"routine": "acupressure", "voice": "fake", "length": "5m",
                                                    "mode": "massage"})
    status2, queued = app.json("POST", "/api/builds", {"points": ["K 3"], "hold": "1m", "voice": "fake",
                                                        "title": "Queued then cancelled"})
    assert app.json("GET", f"/api/builds/{queued['id']}")[1]["state"] in ("queued", "running")
    assert app.json("DELETE", f"/api/builds/{queued['id']}")[1]["state"] in ("cancelled", "running")
    first = wait_build(app, job["id"])
    assert first["state"] in ("done", "failed"), first
    assert wait_build(app, queued["id"])["state"] == "cancelled"
    assert app.json("GET", "/api/builds/0123456789abcdef")[0] == 404


def test_a_failed_build_says_why(app):
    status, job = app.json("POST", "/api/builds", {"routine": "acupressure", "voice": "fake", "length": "1m"})
    assert status == 202
    state = wait_build(app, job["id"])
    assert state["state"] == "failed" and "cannot fit" in state["error"]


# --------------------------------------------------------------------------- the diary and the phone


def test_the_diary_round_trip(app):
    status, diary = app.json("GET", "/api/diary")
    assert status == 200 and {"entries", "last_night", "factors", "chart"} <= set(diary)
    status, saved = app.json("POST", "/api/diary", {"date": diary["last_night"], "restless": 6, "sleep": 4,
                                                     "factors": ["caffeine"], "track": "Tiny one"})
    assert status == 200, saved
    assert saved["entry"]["restless"] == 6 and saved["entry"]["tracks"] == ["Tiny one"]
    status, body = app.json("POST", "/api/diary", {"date": diary["last_night"], "restless": 11})
    assert status == 400 and body["lines"][0].startswith("restless: 11 is out of range")
    entries = app.json("GET", "/api/diary")[1]["entries"]
    assert [e for e in entries if e["date"] == diary["last_night"]][0]["restless"] == 6
    assert app.request("GET", "/api/diary", key=None).status == 401


def test_the_phone_addresses_carry_the_key(app):
    status, phone = app.json("GET", "/api/phone")
    assert status == 200 and phone["lan"] is False and phone["qr"] is None
    assert phone["url"] == app.url and phone["feed"] == app.base + f"feed.xml?key={app.key}"


# --------------------------------------------------------------------------- security


@pytest.mark.parametrize("method, path", [("GET", "/"), ("GET", "/api/tracks"), ("POST", "/api/builds"),
                                          ("DELETE", "/api/tracks/x"), ("GET", "/feed.xml"), ("POST", "/api/diary")])
def test_no_key_is_401_and_nothing_runs(app, method, path):
    answer = app.request(method, path, {"routine": "acupressure"} if method == "POST" else None, key=None)
    assert answer.status == 401
    wrong = app.request(method, path, None, headers={"Authorization": "Bearer wrong"}, key=None)
    assert wrong.status == 401


def test_a_wrong_host_is_421(app):
    answer = app.request("GET", "/api/tracks", headers={"Host": f"evil.example:{app.port}"})
    assert answer.status == 421


def test_a_cross_origin_post_is_403(app):
    for headers in ({"Origin": "http://evil.example"}, {"Origin": f"http://evil.example:{app.port}"},
                    {"Sec-Fetch-Site": "cross-site"}):
        answer = app.request("POST", "/api/builds", {"routine": "acupressure", "voice": "fake"}, headers=headers,
                             key="cookie")
        assert answer.status == 403, headers
        assert app.request("DELETE", "/api/tracks/x", headers=headers).status == 403
    # a browser's POST always has an Origin: with the cookie and none, it is refused too
    assert app.request("POST", "/api/diary", {"restless": 1}, key="cookie").status == 403
    same = app.request("POST", "/api/plan", {"routine": "acupressure", "voice": "fake", "estimate": True},
                       headers={"Origin": app.base.rstrip("/")}, key="cookie")
    assert same.status == 200


@pytest.mark.parametrize("path", ["/api/tracks/../outside.txt", "/api/tracks/%2e%2e/outside",
                                  "/api/tracks/..%2Foutside", "/api/tracks/%2Fetc%2Fpasswd",
                                  "/api/tracks/" + quote(str(Path("/tmp").resolve())),
                                  "/api/routine-files/..%2F..%2Foutside"])
def test_traversal_in_track_names_is_refused(app, path):
    method = "GET" if "routine-files" in path else "DELETE"
    answer = app.request(method, path)
    assert answer.status in (400, 404), answer
    assert (app.tmp / "outside.txt").read_text() == "keep me"


def test_two_hundred_idle_connections_do_not_lock_others_out(app):
    idle = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", app.port), timeout=10)
            idle.append(s)
        answer = app.request("GET", "/api/tracks", timeout=10)
        assert answer.status == 200
        half = socket.create_connection(("127.0.0.1", app.port), timeout=10)
        half.sendall(b"POST /api/builds HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n")
        idle.append(half)
        assert app.request("GET", "/api/voices", timeout=10).status == 200
    finally:
        for s in idle:
            s.close()
