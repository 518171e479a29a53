"""The load generator's raw-socket HTTP/1.1 client (bench/client.py) against a scripted local
server: the same bytes on the wire as http.client sent, answers read by Content-Length, chunked
or to the end of the connection, reconnecting after ``Connection: close``, and failures as
OSError (which bench.run's load counts as failed, never a crash)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable

import pytest

from bench import run
from bench.client import JSON, BadResponse, Client, header_block, parse_head

OK_CLOSE = b"HTTP/1.1 200 OK\r\nServer: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
OK_KEEP = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes"


class Scripted:
    """A server on 127.0.0.1: for each connection, ``answer(request_bytes)`` gives the bytes to
    send back per request (None: close the connection without answering); records every request
    and counts connections."""

    def __init__(self, answer: Callable[[bytes], bytes | None]) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                head, _, data = data.partition(b"\r\n\r\n")
                _, length, _, _ = parse_head(b"HTTP/1.1 200 OK" + head[head.find(b"\r\n") :])
                while len(data) < (length or 0):
                    data += conn.recv(65536)
                body, data = data[: length or 0], data[length or 0 :]
                self.requests.append(head + b"\r\n\r\n" + body)
                reply = self.answer(self.requests[-1])
                if reply is None:
                    return
                conn.sendall(reply)
                if b"Connection: close" in reply or b"Connection: close" in head:
                    return

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture
def serve():
    servers: list[Scripted] = []

    def start(answer: Callable[[bytes], bytes | None]) -> Scripted:
        servers.append(Scripted(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def http_client_bytes(serve, method, path, body, headers) -> bytes:
    server = serve(lambda request: OK_CLOSE)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request(method, path, body=body, headers=headers)
    conn.getresponse().read()
    conn.close()
    return server.requests[0].replace(str(server.port).encode(), b"PORT")


@pytest.mark.parametrize(
    ("method", "path", "body", "extra"),
    [
        ("POST", "/login", None, {}),
        ("POST", "/login/x%40y", b'{"input_data":{},"csrf_token":"t"}', {}),
        ("GET", "/bench/hello", None, {}),
        ("POST", "/bench/user", None, {"Authorization": "Bearer a.b.c"}),
        ("POST", "/login", None, {"Connection": "close"}),
    ],
)
def test_the_requests_on_the_wire_are_the_ones_http_client_sent(serve, method, path, body, extra):
    headers = {"Content-Type": "application/json", "Accept": "application/json", **extra}
    before = http_client_bytes(serve, method, path, body, headers)
    server = serve(lambda request: OK_CLOSE)
    close = extra.get("Connection") == "close"
    auth = {k: v for k, v in extra.items() if k != "Connection"}
    client = Client("127.0.0.1", server.port, timeout=5, close=close)

    assert client.request(method, path, body, JSON + header_block(auth)) == (200, b"ok")

    assert server.requests[0].replace(str(server.port).encode(), b"PORT") == before
    assert client.requests == 1


def test_a_connection_close_answer_makes_the_next_request_connect_again(serve):
    server = serve(lambda request: OK_CLOSE)
    client = Client("127.0.0.1", server.port, timeout=5)

    answers = [client.request("POST", "/bench/hello") for _ in range(3)]

    assert answers == [(200, b"ok")] * 3
    assert server.connections == 3


def test_a_keep_alive_answer_keeps_the_connection_unless_the_client_asks_to_close(serve):
    server = serve(lambda request: OK_KEEP)
    client = Client("127.0.0.1", server.port, timeout=5)
    assert [client.request("POST", "/a") for _ in range(3)] == [(200, b"yes")] * 3
    assert server.connections == 1
    client.close()

    closing = Client("127.0.0.1", server.port, timeout=5, close=True)
    assert [closing.request("POST", "/a") for _ in range(2)] == [(200, b"yes")] * 2
    assert server.connections == 3
    assert all(r.endswith(b"Connection: close\r\n\r\n") for r in server.requests[3:])


def test_a_kept_connection_the_server_closed_silently_is_replaced_once(serve):
    answers = iter([OK_KEEP, None, OK_KEEP])  # the second request meets a closed connection
    server = serve(lambda request: next(answers))
    client = Client("127.0.0.1", server.port, timeout=5)

    assert client.request("POST", "/a") == (200, b"yes")
    assert client.request("POST", "/a") == (200, b"yes")

    assert server.connections == 2
    assert client.requests == 2


def test_a_chunked_answer_and_one_without_length_are_read_whole(serve):
    chunked = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n"
    )
    server = serve(lambda request: chunked)
    client = Client("127.0.0.1", server.port, timeout=5)
    assert client.request("POST", "/a") == (400, b"hello, world")
    assert client.request("POST", "/a") == (400, b"hello, world")
    assert server.connections == 1  # chunked on HTTP/1.1: the connection stays

    untold = serve(
        lambda request: b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nall" + bytes(70000) + b"end"
    )
    status, body = Client("127.0.0.1", untold.port, timeout=5).request("GET", "/")
    assert status == 200 and body.startswith(b"all") and body.endswith(b"end")
    assert len(body) == 70006


def test_a_large_body_arrives_in_pieces_and_is_read_to_its_length(serve):
    big = b"x" * 300_000
    server = serve(lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n" + big)
    assert Client("127.0.0.1", server.port, timeout=5).request("POST", "/a") == (200, big)


@pytest.mark.parametrize(
    "reply",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n",
        None,
    ],
)
def test_what_is_not_an_http_answer_fails_as_a_connection_error(serve, reply):
    def answer(request: bytes) -> bytes | None:
        return reply

    server = serve(answer)
    client = Client("127.0.0.1", server.port, timeout=5)
    with pytest.raises(BadResponse) as raised:
        client.request("POST", "/a")
    assert isinstance(raised.value, OSError)


def test_a_server_that_never_answers_times_out(serve):
    server = serve(lambda request: b"")  # sends nothing, keeps the connection open
    client = Client("127.0.0.1", server.port, timeout=0.2)
    with pytest.raises(OSError):
        client.request("POST", "/a")


def test_run_load_counts_bad_answers_as_failed_and_the_requests_it_made(serve):
    answers = iter([OK_CLOSE, b"garbage\r\n\r\n"] + [OK_CLOSE] * 10)
    server = serve(lambda request: next(answers))

    result = run.run_load(server.port, run.hello_load(6), duration=30, concurrency=1)

    assert (result.ok, result.failed, result.requests) == (5, 1, 6)
    assert result.statuses == {"200": 5, "BadResponse": 1}
