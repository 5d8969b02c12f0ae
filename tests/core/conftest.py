"""Fixtures for the data/download tests: fake MNIST files and a local HTTP server.

The server listens on 127.0.0.1 (port 0), runs in a thread, and is always shut down by
the fixture; handlers that stall wait on an event the fixture sets, so nothing outlives
the test. No test here touches a real URL.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

if __package__:  # tests/ made into a package
    from . import fixtures_mnist
else:  # pytest's default rootdir-less import: this folder is on sys.path
    import fixtures_mnist

STALL_LIMIT = 10.0  # seconds a stalled handler waits at most, even if never released


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    mode: str = "ok"  # "ok" | "truncate" (short body, then close) | "stall" (headers, then wait)
    #                   | "trickle" (100 bytes every 20 ms until released) | "flood" (body repeated until released)
    length: int | None = None  # the Content-Length to claim (default: the body's); -1: none


class FakeServer:
    """A threaded HTTP server serving ``routes``; ``hits`` lists the paths requested."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.status != 200:
                    self.send_error(route.status)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                length = len(route.body) if route.length is None else route.length
                if length >= 0:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    if route.mode == "ok":
                        self.wfile.write(route.body)
                    elif route.mode == "truncate":
                        self.wfile.write(route.body[: len(route.body) // 2])
                        self.close_connection = True
                    elif route.mode == "stall":
                        self.wfile.write(route.body[:100])
                        self.wfile.flush()
                        server.release.wait(STALL_LIMIT)
                    elif route.mode in ("trickle", "flood"):
                        step = 100 if route.mode == "trickle" else len(route.body)
                        pause = 0.02 if route.mode == "trickle" else 0.0
                        give_up = time.monotonic() + STALL_LIMIT
                        i = 0
                        while not server.release.is_set() and time.monotonic() < give_up:
                            part = route.body[i : i + step] if route.mode == "trickle" else route.body
                            if not part:
                                break
                            self.wfile.write(part)
                            self.wfile.flush()
                            i += step
                            server.release.wait(pause)
                except OSError:  # the client hung up; that is what some tests do
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes = b"", *, status: int = 200, mode: str = "ok",
              length: int | None = None) -> str:
        self.routes[path] = Route(body, status, mode, length)
        return self.url(path)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()  # joins the handler threads
        self.thread.join(timeout=5)


@pytest.fixture
def http_server() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()
    assert not server.thread.is_alive()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty download cache, also set as $NNVIZ_DATA_DIR."""
    path = tmp_path / "cache"
    monkeypatch.setenv("NNVIZ_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def fm():
    """The fake-MNIST helpers module (tests/core/fixtures_mnist.py)."""
    return fixtures_mnist
