"""The network side: the address to listen on, the names a Host header may use, a QR code for
a phone, and a server that stays answerable whatever idle or slow clients do.

uvicorn's own protocol waits forever for a connection that never sends a request, and counts
such connections against `limit_concurrency`: 100 idle sockets made every other client get 503
for as long as they stayed open. `GuardedH11Protocol` gives every connection a deadline for a
complete request head (from its first byte, or from its last response on a kept-alive
connection: a header trickled a byte at a time does not extend it), and keeps at most
MAX_CONNECTIONS open: a new connection beyond that closes the ones idle longest, so a person's
request always finds room. uvicorn's own limit is therefore off.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from ..base import limits
from ..base.errors import InputError, Problem, RlsaudioError
from ..base.text import printable
from .guard import canonical

DEFAULT_PORT = 8765


# --------------------------------------------------------------------------- addresses


def lan_address(probe: Callable[[str], str | None] | None = None,
                interfaces: Callable[[], list[tuple[str, str]]] | None = None) -> str:
    """This machine's address on the local network, found without sending anything: the source
    address the system would use towards a private address (a UDP connect sends no packet),
    else the first private address of a network interface."""
    probe = probe or _route_source
    interfaces = interfaces or interface_addresses
    for target in ("192.168.0.1", "10.0.0.1", "172.16.0.1"):
        found = probe(target)
        if found and _usable(found):
            return found
    for name, address in interfaces():
        if _usable(address) and not name.startswith(("lo", "docker", "br-", "veth", "virbr")):
            return address
    raise RlsaudioError("no local network address found: is this computer connected to Wi-Fi or a network? "
                        "Connect it, or give the address with --host ADDR")


def _usable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local)


def _route_source(target: str) -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((target, 9))  # UDP: chooses a route, sends nothing
            return s.getsockname()[0]
    except OSError:
        return None


def interface_addresses() -> list[tuple[str, str]]:
    """(interface, IPv4 address) pairs, read with SIOCGIFADDR on Linux; [] elsewhere."""
    if not sys.platform.startswith("linux"):
        return []
    import fcntl
    import struct

    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
            except OSError:
                continue
            found.append((name, socket.inet_ntoa(packed[20:24])))
    return found


def own_names() -> frozenset[str]:
    """This machine's host name, short and full, and the short one under .local (mDNS)."""
    name = socket.gethostname().lower().rstrip(".")
    short = name.split(".")[0]
    return frozenset({name, short, f"{short}.local"} - {"", ".local"})


def host_names(bound: str) -> frozenset[str]:
    """The names a request's Host header may carry for a server bound to `bound`: that address and
    this machine's names; on loopback, localhost too; on every interface, each of their addresses."""
    names = {canonical(bound)} | own_names()
    ip = _ip(bound)
    if ip is not None and ip.is_loopback:
        names |= {"localhost", "127.0.0.1", "::1"}
    if ip is not None and ip.is_unspecified:
        names |= {"localhost", "127.0.0.1", "::1"} | {address for _, address in interface_addresses()}
        try:
            names.add(lan_address())
        except RlsaudioError:
            pass
    return frozenset(names)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or one clear error: a port in use (1), an address that is not this
    machine's or a port that needs privileges (2)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise InputError(Problem("--host", f"{host!r} is not an address of this computer; give an IP address "
                                           "such as 127.0.0.1, or use --lan")) from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RlsaudioError(f"port {port} on {host} is already in use (is rlsaudio already running?); "
                                "stop that, or choose another port with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise InputError(Problem("--host", f"{host} is not an address of this computer; give one of its "
                                               "addresses, or use --lan")) from None
        if exc.errno == errno.EACCES:
            raise InputError(Problem("--port", f"{port}: ports below 1024 need administrator rights; use "
                                               f"--port {DEFAULT_PORT}")) from None
        raise RlsaudioError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    return sock


def url_for(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def shown_host(host: str) -> str:
    """The address to print: for "every interface" (0.0.0.0, ::), the LAN address if there is one."""
    ip = _ip(host)
    if ip is None or not ip.is_unspecified:
        return host
    try:
        return lan_address()
    except RlsaudioError:
        return "127.0.0.1" if ip.version == 4 else "::1"


def _ip(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def qr_text(data: str, colour: bool, unicode: bool = True) -> str:
    """A QR code as text: black on white whatever the terminal's colours (ANSI) with half blocks,
    two rows a line; or, without colour, dark modules as blocks."""
    import segno

    rows = [list(row) for row in segno.make_qr(data, error="m").matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    if not unicode:
        return "\n".join("".join("##" if dark else "  " for dark in row) for row in rows) + "\n"
    chars = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2]):
        line = "".join(chars[(bool(a), bool(b))] for a, b in zip(top, bottom))
        lines.append(f"\033[30;107m{line}\033[0m" if colour else line)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- connections


def guarded_protocol():
    """uvicorn's h11 protocol with a request-head deadline and a bound on open connections."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._deadline = None
            self.idle_since = time.monotonic()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._make_room()
            self._start_deadline()

        def connection_lost(self, exc) -> None:
            self._stop_deadline()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._idle():
                self._start_deadline()  # a new request begins: its head has a deadline from now
            super().data_received(data)
            if not self._idle():
                self._stop_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self.idle_since = time.monotonic()

        def _idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _start_deadline(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(limits.header_timeout_s(), self._expire)

        def _stop_deadline(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self._idle() and not self.transport.is_closing():
                self.transport.close()

        def _make_room(self) -> None:
            """Over the bound, close the connections idle longest (never one with a request in flight)."""
            excess = len(self.connections) - limits.MAX_CONNECTIONS
            if excess <= 0:
                return
            idle = sorted((c for c in self.connections if c is not self and c._idle()), key=lambda c: c.idle_since)
            for conn in idle[:excess]:
                conn.transport.close()

    return GuardedH11Protocol


class _LogLine(logging.Formatter):
    """One line per event, controls escaped; a traceback only with RLSAUDIO_DEBUG."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            text += f": {type(exc).__name__}: {exc}"
        text = printable(text)
        if len(text) > 300:  # a request line can be kilobytes of an attacker's choosing
            text = text[:200] + " ... " + text[-80:]
        line = f"{self.formatTime(record, '%H:%M:%S')} {text}"
        if exc is not None and os.environ.get("RLSAUDIO_DEBUG"):
            line += "\n" + self.formatException(record.exc_info)
        return line


@contextmanager
def _server_logging(access_log: bool) -> Iterator[None]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogLine())
    loggers = {"uvicorn.error": logging.WARNING, "uvicorn.access": logging.INFO if access_log else logging.WARNING,
               "uvicorn.asgi": logging.WARNING}
    saved = []
    for name, level in loggers.items():
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.handlers[:], logger.propagate))
        logger.handlers, logger.propagate = [handler], False
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, level, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)


@contextmanager
def _stop_on_signals(server) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP ask the server to finish; uvicorn catches SIGINT and SIGTERM
    itself while it runs and raises them again once stopped, which lands here, harmlessly."""

    def stop(signum, frame):
        server.should_exit = True

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_server(app, sock: socket.socket, access_log: bool = True) -> None:
    """Serve `app` on a bound socket until Ctrl-C, SIGTERM or SIGHUP."""
    import uvicorn

    config = uvicorn.Config(app, http=guarded_protocol(), ws="none", lifespan="off", interface="asgi3",
                            proxy_headers=False, server_header=False, date_header=True, log_config=None,
                            access_log=access_log, timeout_graceful_shutdown=2, limit_concurrency=None,
                            timeout_keep_alive=int(limits.KEEP_ALIVE_S), backlog=1024)
    server = uvicorn.Server(config)
    with _server_logging(access_log), _stop_on_signals(server):
        server.run(sockets=[sock])
