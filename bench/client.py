"""The load generator's HTTP/1.1 client: a raw socket, bench-only.

``bin/bench``'s client threads share the box's two cores with the server they measure, so every
millisecond the client spends is one the server does not get, and a login chain (5 requests)
pays it five times where the peer's one-request login pays it once. http.client parses each
answer's headers with the email package and reads through a buffered file; this client sends the
same bytes (request line, ``Host``, ``Accept-Encoding: identity``, ``Content-Length`` for a POST,
the caller's headers, ``Connection: close`` when asked) in one ``sendall``, reads the headers up
to the blank line and the body by ``Content-Length`` (or chunked, or to the end of the
connection), and connects again when the server said ``Connection: close``, as gunicorn's sync
workers always do. It knows only what the bench's servers answer: no TLS, no redirects, no
``Expect: 100-continue``, no pipelining.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping

MAX_HEAD = 65536  # bytes of status line and headers at most
RECV = 65536
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # Content-Length: 0 without a body, as
# http.client sends it


class BadResponse(ConnectionError):
    """The server's bytes are not an HTTP/1.x answer (or the connection ended inside one)."""


def header_block(headers: Mapping[str, str]) -> bytes:
    """``Name: value`` lines, each ending in CRLF, built once and sent with many requests."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


JSON = header_block({"Content-Type": "application/json", "Accept": "application/json"})


class Client:
    """One connection at a time to ``host:port``; ``close``: ask for ``Connection: close`` on
    every request (a new connection per request, as from nginx without upstream keepalive).
    ``requests`` counts the requests sent, for the CPU per request."""

    def __init__(self, host: str, port: int, timeout: float = 30.0, close: bool = False) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.close_each = close
        self.requests = 0
        self._sock: socket.socket | None = None
        seconds = int(timeout)
        self._timeval = struct.pack("ll", seconds, int((timeout - seconds) * 1e6))
        self._fixed = f"Host: {host}:{port}\r\nAccept-Encoding: identity\r\n".encode("latin-1")
        self._end = b"Connection: close\r\n\r\n" if close else b"\r\n"

    def prepare(
        self, method: str, path: str, body: bytes | None = None, headers: bytes = JSON
    ) -> bytes:
        """The request's bytes as they go on the wire."""
        if body is not None:
            length = b"Content-Length: %d\r\n" % len(body)
        elif method in BODY_METHODS:
            length = b"Content-Length: 0\r\n"
        else:
            length = b""
        line = f"{method} {path} HTTP/1.1\r\n".encode("latin-1")
        return b"".join((line, self._fixed, length, headers, self._end, body or b""))

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: bytes = JSON
    ) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body)."""
        return self.send(self.prepare(method, path, body, headers))

    def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send prepared bytes (``prepare``) and read the answer: (status, body)."""
        self.requests += 1
        sock = self._sock
        if sock is not None:
            # A kept connection the server may have closed meanwhile (its keep-alive timeout):
            # when it answers nothing at all, send once more on a new connection.
            try:
                sock.sendall(raw)
                answer = self._answer(sock, retry_if_silent=True)
            except (BrokenPipeError, ConnectionResetError):
                answer = None
            if answer is not None:
                return answer
            self.close()
        sock = self._sock = self._connect()
        sock.sendall(raw)
        answer = self._answer(sock, retry_if_silent=False)
        assert answer is not None
        return answer

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # The kernel's timeouts (connect, send, recv): a blocking socket for Python, so each
            # call is one system call, not a poll() and then the call as with settimeout().
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, self._timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, self._timeval)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as http.client does
            sock.connect(self.address)
        except BaseException:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _answer(self, sock: socket.socket, retry_if_silent: bool) -> tuple[int, bytes] | None:
        data = sock.recv(RECV)
        if not data and retry_if_silent:
            return None
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(data) > MAX_HEAD:
                raise BadResponse("headers too long")
            more = sock.recv(RECV)
            if not more:
                raise BadResponse("connection closed before the end of the headers")
            data += more
        status, length, chunked, keep = parse_head(data[:end])
        rest = data[end + 4 :]
        if chunked:
            body = self._chunked(sock, rest)
        elif length is not None:
            while len(rest) < length:
                more = sock.recv(max(RECV, length - len(rest)))
                if not more:
                    raise BadResponse("connection closed inside the body")
                rest += more
            body = rest[:length]
        elif status in (204, 304) or status < 200:
            body = b""
        else:  # no length: the body ends with the connection
            parts = [rest]
            while more := sock.recv(RECV):
                parts.append(more)
            body, keep = b"".join(parts), False
        if not keep or self.close_each:
            self.close()
        return status, body

    def _chunked(self, sock: socket.socket, data: bytes) -> bytes:
        body = []
        while True:
            while (eol := data.find(b"\r\n")) < 0:
                data += self._more(sock)
            size = int(data[:eol].split(b";", 1)[0], 16)
            data = data[eol + 2 :]
            while len(data) < size + 2:
                data += self._more(sock)
            if size == 0:  # no trailers from the bench's servers: the last CRLF follows
                return b"".join(body)
            body.append(data[:size])
            data = data[size + 2 :]

    @staticmethod
    def _more(sock: socket.socket) -> bytes:
        more = sock.recv(RECV)
        if not more:
            raise BadResponse("connection closed inside a chunked body")
        return more


def parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """Status line and headers: (status, Content-Length or None, chunked, keep-alive)."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or not code.isdigit():
        raise BadResponse(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    length = None
    chunked = False
    keep = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise BadResponse(f"bad Content-Length: {value[:40]!r}") from None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            token = value.strip().lower()
            keep = token != b"close" and (keep or token == b"keep-alive")
    return int(code), length, chunked, keep
