"""The guard in front of every request: the host asked for, the method, the path, the access key
and where a request comes from, checked before anything else runs; security headers on every
response.

- Host: exactly one Host header, naming the address the server bound or this machine's own name
  (and, on a loopback address, "localhost"). A web page elsewhere cannot use DNS rebinding to
  reach the server through a browser: its host name is not one of these.
- Method: only those the policy allows (`serve`: GET and HEAD); others get 405.
- Path: checked by files.path_segments before any route sees it.
- Key (the app): every request must present the access key, as `Authorization: Bearer KEY`, in
  the cookie that a first visit with `?key=KEY` sets (HttpOnly, SameSite=Strict), or as `?key=`
  on a GET (links for a podcast app or a phone). Without it: 401, and nothing runs.
- Origin (the app): a state-changing request (anything but GET, HEAD and OPTIONS) whose Origin
  or Sec-Fetch-Site says another site sent it gets 403. A request with no Origin header that
  carries the Bearer key is a script or a test, and is allowed. No CORS headers are ever sent.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from .files import REFUSED_TEXT, Refused, path_segments, plain

KEY_COOKIE = "rlsaudio_key"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# The pages are self-contained (inline script and style, same-origin audio): allow exactly that.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


@dataclass(frozen=True)
class Policy:
    """What the guard lets through: host names, methods, and (for the app) the access key."""

    hosts: frozenset[str]  # lowercase names or addresses, without port or brackets
    methods: tuple[str, ...] = ("GET", "HEAD")
    key: str | None = None  # None: no key is needed (the read-only `serve`)
    port: int | None = None  # the port bound, for the same-origin check
    open_paths: frozenset[str] = field(default_factory=frozenset)  # served without the key (e.g. /favicon.ico)


def host_name(host: str) -> str | None:
    """The name or address in a Host header value (lowercase, no port or brackets), or None if malformed."""
    host = host.strip().lower()
    if host.startswith("["):
        name, sep, port = host[1:].partition("]")
        if not sep or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
    else:
        name, _, port = host.partition(":")
        if port and not port.isdigit():
            return None
    name = name.rstrip(".")
    return name or None


def canonical(name: str) -> str:
    """An address in its one written form ("::1", not "0:0::1"); a name as it is."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower().rstrip(".")


def host_allowed(host: str, names: frozenset[str]) -> bool:
    """Whether a Host header value names one of `names`."""
    name = host_name(host)
    return name is not None and canonical(name) in names


def _header(scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name]


def presented_key(scope) -> tuple[str | None, str]:
    """The key a request presents and how: ("KEY", "bearer" | "cookie" | "query"), or (None, "")."""
    for value in _header(scope, b"authorization"):
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip(), "bearer"
    if scope.get("method") in ("GET", "HEAD"):  # a link's key wins over a cookie (another app's, on another port)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("key"):
            return query["key"][0], "query"
    for value in _header(scope, b"cookie"):
        cookie = SimpleCookie()
        try:
            cookie.load(value)
        except Exception:  # a malformed cookie header is no key (http.cookies raises CookieError and others)
            continue
        if KEY_COOKIE in cookie:
            return cookie[KEY_COOKIE].value, "cookie"
    return None, ""


def key_matches(given: str | None, key: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), key.encode("utf-8"))


def same_origin(origin: str, policy: Policy) -> bool:
    """Whether an Origin header names this server (its scheme, one of its hosts and its port)."""
    try:
        parts = urlsplit(origin)
        port = parts.port or (80 if parts.scheme == "http" else 443 if parts.scheme == "https" else None)
    except ValueError:
        return False
    return (parts.scheme == "http" and parts.hostname is not None and canonical(parts.hostname) in policy.hosts
            and (policy.port is None or port == policy.port))


UNKNOWN_HOST = "Unknown host name: open the address rlsaudio printed"


def refusal(scope, policy: Policy) -> tuple[int, str] | None:
    """The status and words a request is refused with, or None when it may go on."""
    status = _refused_status(scope, policy)
    if status is None:
        return None
    return status, (UNKNOWN_HOST if status in (400, 421) and _host_refused(scope, policy) else REFUSED_TEXT[status])


def _host_refused(scope, policy: Policy) -> bool:
    hosts = _header(scope, b"host")
    return len(hosts) != 1 or not host_allowed(hosts[0], policy.hosts)


def _refused_status(scope, policy: Policy) -> int | None:
    if scope["method"] not in policy.methods:
        return 405
    if _host_refused(scope, policy):
        return 421 if policy.key is not None else 400
    try:
        path_segments(scope["path"])  # every route: odd paths never reach the router
    except Refused as exc:
        return exc.status
    if policy.key is None:
        return None
    given, how = presented_key(scope)
    if not key_matches(given, policy.key) and scope["path"] not in policy.open_paths:
        return 401
    if scope["method"] not in SAFE_METHODS:
        origins = _header(scope, b"origin")
        fetch_site = [v.strip().lower() for v in _header(scope, b"sec-fetch-site")]
        if any(site not in ("same-origin", "none") for site in fetch_site):
            return 403
        if origins:
            if len(origins) > 1 or not same_origin(origins[0], policy):
                return 403
        elif how != "bearer":
            return 403  # a browser always sends Origin with these; without it, only a script with the key
    return None


class Guard:
    """ASGI middleware: the checks above, then security headers on every response."""

    def __init__(self, app, policy: Policy):
        self.app = app
        self.policy = policy

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        refused = refusal(scope, self.policy)
        if refused is not None:
            status, words = refused
            response = plain(status, words)
            if status == 405:
                response.headers["allow"] = ", ".join(self.policy.methods)
            if status == 401:
                response.headers["www-authenticate"] = 'Bearer realm="rlsaudio"'
            return await response(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)
