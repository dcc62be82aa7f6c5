"""The page at / (and in each album folder): the tracks, albums and playlists, for a phone.

It is the first thing seen after scanning the QR code, often in a dark bedroom: it follows the
system's theme, warm and dim in the dark (the track pages' bedtime colours) and clear in the
light (their massage colours), with nothing bright before it loads, and a favicon of its own.
Every name is escaped and every link percent-encoded.
"""

from __future__ import annotations

import html

from ..base.units import format_length, ms_to_samples
from ..publish.feed import FEED_NAME, FeedTrack, url_path

FAVICON = "/favicon.ico"

_STYLE = """
html { --bg: #fbf7ef; --fg: #1d1a16; --muted: #4f463c; --line: #d9cdbb; --accent: #9a3412; --surface: #f3ece0;
       color-scheme: light dark; background: var(--bg); color: var(--fg); }
@media (prefers-color-scheme: dark) {
  html { --bg: #17110c; --fg: #c9a07a; --muted: #a88b6f; --line: #3a2b1e; --accent: #c8874a; --surface: #221911; }
}
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0 auto; max-width: 40rem; padding: 1rem; background: var(--bg); color: var(--fg);
       font: 18px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 1.45rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
ul { list-style: none; margin: 0; padding: 0; }
li { padding: .8rem 0; border-bottom: 1px solid var(--line); }
a { color: var(--fg); }
a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.title { font-weight: 600; }
.page { display: inline-block; margin: .3rem .8rem .3rem 0; padding: .45rem .8rem; border: 1px solid var(--line);
        border-radius: .6rem; background: var(--surface); text-decoration: none; min-height: 2.75rem; }
.dim, .links a.audio { color: var(--muted); font-size: .92rem; }
audio { width: 100%; margin-top: .4rem; }
footer { margin-top: 1.6rem; color: var(--muted); font-size: .92rem; overflow-wrap: anywhere; }
"""


def count(n: int, thing: str) -> str:
    """"1 track", "2 tracks"."""
    return f"{n} {thing}" + ("" if n == 1 else "s")


def index_html(title: str, tracks: list[FeedTrack], albums: dict[str, int], playlists: list[str], here: str,
               feed_url: str, key_query: str = "") -> str:
    """A small page listing tracks (names escaped, links percent-encoded), for a phone's browser.
    `key_query` ("?key=...") is added to the feed's address, for a podcast app (the app's own)."""
    esc = html.escape
    prefix = "/" + url_path(here) + "/" if here else "/"
    rows = []
    for t in sorted(tracks, key=lambda t: (t.track or 0, t.rel)):
        audio = "/" + url_path(t.rel)
        page = ""
        if "page" in t.sidecars:
            page = f'<a class="page" href="/{esc(url_path(t.sidecars["page"]))}">Listen along</a>'
        length = format_length(ms_to_samples(t.length_ms)) if t.length_ms else ""
        rows.append(f'<li><span class="title">{esc(t.title)}</span> <span class="dim">{esc(length)}</span>'
                    f'<br>{page}<a class="audio" href="{esc(audio)}">audio file</a>'
                    f'<br><audio controls preload="none" src="{esc(audio)}"></audio></li>')
    sections = []
    if rows:
        sections.append(f'<p class="dim">{count(len(rows), "track")}</p><ul>' + "\n".join(rows) + "</ul>")
    if albums:
        links = "".join(f'<li><a href="/{esc(url_path(a))}/">{esc(a)}</a> <span class="dim">{count(n, "track")}</span>'
                        "</li>" for a, n in sorted(albums.items()))
        sections.append(f"<h2>Albums</h2><ul>{links}</ul>")
    if playlists:
        links = "".join(f'<li><a href="{esc(prefix + url_path(p))}">{esc(p)}</a></li>' for p in playlists)
        sections.append(f"<h2>Playlists</h2><ul>{links}</ul>")
    if not sections:
        sections.append("<p>No tracks yet. Build some with <code>rlsaudio build</code>; they appear here "
                        "without a restart.</p>")
    back = '<p><a href="/">All tracks</a></p>' if here else ""
    feed = feed_url + key_query
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="theme-color" content="#fbf7ef" media="(prefers-color-scheme: light)">
<meta name="theme-color" content="#17110c" media="(prefers-color-scheme: dark)">
<link rel="icon" href="{FAVICON}" type="image/png">
<title>{esc(title)}</title>
<style>{_STYLE}</style>
</head><body>
<h1>{esc(title)}</h1>
{back}
{chr(10).join(sections)}
<footer>Podcast feed: <a href="/{FEED_NAME}{esc(key_query)}">{esc(feed)}</a> (add it in your podcast app by its
address)</footer>
</body></html>
"""
