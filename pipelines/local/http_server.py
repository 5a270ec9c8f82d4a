"""The XGBoost 3.0-5 container's HTTP contract on 127.0.0.1, for a model artifact.

What the container's Flask Worker (sagemaker_containers 2.8.6) answers, request by request,
checked against the real Worker in tests/container_toolkits:
- GET /ping: 200, Content-Type application/json, empty body (its default health check);
- POST /invocations: the handler's answer as pipelines/local/serving.py emulates it
  (status codes and content types included);
- a known path with the wrong method: 405 with Flask's page and an Allow header;
- any other path: 404 with Flask's page.

The model is a model.tar.gz as training writes it (the booster, its feature schema, and the
handler under code/), which is what a SageMaker endpoint downloads and runs: the handler that
answers is the artifact's own code/inference.py.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from pipelines.local import serving

PROGRAM = "inference.py"
NOT_FOUND = (
    b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server. If you entered the URL manually "
    b"please check your spelling and try again.</p>\n"
)
NOT_ALLOWED = (
    b"<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n"
    b"<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n"
)
HTML = "text/html; charset=utf-8"
_COUNTER = itertools.count(1)
ROUTES = {"/ping": "GET, HEAD, OPTIONS", "/invocations": "OPTIONS, POST"}


class ServeError(RuntimeError):
    """The artifact cannot be served (not a model.tar.gz, no handler, a handler that fails)."""


@contextmanager
def unpacked(artifact: Path) -> Iterator[Path]:
    """The artifact extracted in a temporary folder (what SageMaker puts in /opt/ml/model)."""
    if not artifact.is_file():
        raise ServeError(f"{artifact}: no such model artifact")
    with tempfile.TemporaryDirectory(prefix="model-") as folder:
        try:
            with tarfile.open(artifact) as tar:
                tar.extractall(folder, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise ServeError(f"{artifact} is not a model.tar.gz: {exc}") from None
        yield Path(folder)


def _import(code: Path) -> ModuleType:
    """The artifact's handler, imported under a name of its own: in this process `inference`
    may already be this checkout's module, which the artifact's must not replace."""
    path = code / PROGRAM
    if not path.is_file():
        raise ServeError(f"the artifact has no code/{PROGRAM}: not a model this pipeline trained")
    name = f"served_handler_{next(_COUNTER)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ServeError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(code))  # the container imports it from the code folder
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ServeError(f"the artifact's {PROGRAM} fails to import: {exc}") from None
    finally:
        sys.path.remove(str(code))
    try:
        serving.check_handler(module)
    except serving.HandlerError as exc:
        raise ServeError(str(exc)) from None
    return module


def load(model_dir: Path) -> tuple[ModuleType, Any]:
    """The artifact's handler module and its model_fn(model_dir), as the container loads them."""
    module = _import(model_dir / "code")
    try:
        model = module.model_fn(str(model_dir))
    except Exception as exc:  # the container would fail its start-up the same way
        raise ServeError(f"model_fn failed: {type(exc).__name__}: {exc}") from None
    return module, model


def handler_class(module: ModuleType, model: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "local-sagemaker-container"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the caller prints what it needs."""

        def _send(
            self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _route(self, method: str) -> bool:
            path = self.path.split("?", 1)[0]
            if path not in ROUTES:
                self._send(404, HTML, NOT_FOUND)
                return False
            if method not in ROUTES[path]:
                self._send(405, HTML, NOT_ALLOWED, {"Allow": ROUTES[path]})
                return False
            return True

        def do_GET(self) -> None:
            if self._route("GET"):
                self._send(200, serving.JSON, b"")

        def do_HEAD(self) -> None:
            if self._route("HEAD"):
                self._send(200, serving.JSON, b"")

        def do_POST(self) -> None:
            if not self._route("POST"):
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            answer = serving.invoke(
                module, model, body, self.headers.get("Content-Type"), self.headers.get("Accept")
            )
            self._send(answer.status, answer.content_type, answer.body)

        def do_PUT(self) -> None:
            self._route("PUT")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


@contextmanager
def serve(artifact: Path, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the artifact on host:port (0: a free port) in a background thread; yields the
    base URL, e.g. http://127.0.0.1:8080."""
    with unpacked(artifact) as model_dir:
        module, model = load(model_dir)
        try:
            server = ThreadingHTTPServer((host, port), handler_class(module, model))
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
