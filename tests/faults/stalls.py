"""Receivers that stall mid-delivery, so that a test can kill -9 the sender at a known point.

``StallingSmtp`` stalls either before it takes the message (in DATA, no answer yet: the sender
still owns it) or after it took it (250 sent, stalled on QUIT: the sender has handed it over
but not yet recorded that). ``StallingReceiver`` is an HTTP webhook receiver that records a
POST, then stalls before it answers.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Stage = Literal["before_accept", "after_accept"]


@dataclass
class StallingSmtp:
    """An SMTP server on 127.0.0.1 whose first message stalls at ``stage`` until ``release()``.

    ``stored`` holds the messages it took responsibility for (answered 250); ``stalled`` is
    set once the sender is stuck at the stage.
    """

    stage: Stage
    port: int = 0
    stored: list[EmailMessage] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    _stalls_left: int = 1
    _controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def _stall(self) -> None:
        self.stalled.set()
        while not self.released.is_set():
            await asyncio.sleep(0.02)  # without blocking the server's other connections

    def _take_stall(self) -> bool:
        if self._stalls_left:
            self._stalls_left -= 1
            return True
        return False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.stage == "before_accept" and self._take_stall():
            await self._stall()
            # The sender is gone: a real server drops what it never acknowledged.
            return "451 4.3.0 The sender went away"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.stored.append(message)  # type: ignore[arg-type]
        session.stall_on_quit = self.stage == "after_accept" and self._take_stall()
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if getattr(session, "stall_on_quit", False):
            await self._stall()
        return "221 Bye"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.stored) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.stored)} of {count} messages stored")
            time.sleep(0.05)
        return list(self.stored)

    def start(self) -> StallingSmtp:
        from aiosmtpd.controller import Controller

        sink = self

        class _Controller(Controller):
            def _trigger_server(self) -> None:
                self.port = self.server.sockets[0].getsockname()[1]
                sink.port = self.port
                super()._trigger_server()

        self._controller = _Controller(self, hostname="127.0.0.1", port=0)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@contextmanager
def stalling_smtp(stage: Stage) -> Iterator[StallingSmtp]:
    sink = StallingSmtp(stage).start()
    try:
        yield sink
    finally:
        sink.stop()


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes


@dataclass
class StallingReceiver:
    """Webhook receiver: records every POST; the first one gets no answer until ``release()``."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.calls) >= count:
                    return list(self.calls)
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.calls)} of {count} webhook calls")
            time.sleep(0.05)


@contextmanager
def stalling_receiver() -> Iterator[StallingReceiver]:
    receiver = StallingReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.calls.append(Call(dict(self.headers.items()), body))
                first = len(receiver.calls) == 1
            if first:
                receiver.stalled.set()
                receiver.released.wait(timeout=120)
            try:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender died while we stalled

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
