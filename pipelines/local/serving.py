"""How the SageMaker XGBoost 3.0-5 container answers an invocation of a script-mode model.

Script mode does not go through `sagemaker_inference`: the container's serving module
(sagemaker_xgboost_container/serving.py) imports the user's module and wraps it in the
legacy `sagemaker_containers` 2.8.6 Transformer behind a Flask Worker. What that means for
a handler, emulated here so the local runner answers as the container does:

- A module may define `transform_fn(model, body, content_type, accept)` *or* any of
  `input_fn`, `predict_fn`, `output_fn`, not both (the container raises a UserError).
- Every exception a user function raises is re-raised as a ClientError, which Flask turns
  into an HTTP 500 with a generic page: a `status_code` on the exception never reaches the
  client. Only a returned response object carries another status.
- A returned tuple is (body, content type); a response object keeps its own status and
  content type; bare bytes or text become a Flask response with Flask's default
  content type, text/html.
- The body arrives as text for exactly "application/json" and "text/csv", else as bytes;
  a missing Content-Type means application/json; a missing or "*/*" Accept means
  SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT (default application/json).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

JSON = "application/json"
TEXT_TYPES = ("application/json", "text/csv")
TRIO = ("input_fn", "predict_fn", "output_fn")
FLASK_ERROR_PAGE = (
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was "
    b"unable to complete your request. Either the server is overloaded or there is an error "
    b"in the application.</p>\n"
)


class HandlerError(RuntimeError):
    """The module cannot be served at all (the container would not start)."""


@dataclass(frozen=True)
class Answer:
    """One HTTP response of /invocations."""

    status: int
    content_type: str
    body: bytes


def check_handler(module: ModuleType) -> None:
    """Refuse what the container refuses at start-up."""
    if not hasattr(module, "model_fn"):
        raise HandlerError(f"{module.__name__} has no model_fn()")
    defined = [name for name in TRIO if hasattr(module, name)]
    if hasattr(module, "transform_fn") and defined:
        raise HandlerError(
            f"{module.__name__} defines transform_fn and {', '.join(defined)}: the XGBoost "
            "container refuses that combination (UserError)"
        )
    if not hasattr(module, "transform_fn") and len(defined) < len(TRIO):
        missing = [name for name in TRIO if name not in defined]
        raise HandlerError(
            f"{module.__name__} has no transform_fn and no {', '.join(missing)}: the XGBoost "
            "container's defaults for those do not know this model"
        )


def request_headers(content_type: str | None, accept: str | None) -> tuple[str, str]:
    """The Content-Type and Accept the handler sees, after the container's defaults."""
    default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", JSON)
    return content_type or JSON, accept if accept and accept != "*/*" else default_accept


def invoke(
    module: ModuleType, model: Any, body: bytes, content_type: str | None, accept: str | None
) -> Answer:
    """One POST /invocations, as the container's Transformer and Worker answer it."""
    content_type, accept = request_headers(content_type, accept)
    content: bytes | str = body.decode("utf-8") if content_type in TEXT_TYPES else body
    try:
        if hasattr(module, "transform_fn"):
            result = module.transform_fn(model, content, content_type, accept)
        else:
            data = module.input_fn(content, content_type)
            result = module.output_fn(module.predict_fn(data, model), accept)
    except Exception:  # ClientError -> Flask -> 500, whatever the handler meant
        return Answer(500, "text/html; charset=utf-8", FLASK_ERROR_PAGE)
    return as_answer(result)


def as_answer(result: Any) -> Answer:
    """What Flask makes of a view's return value (the Transformer maps tuples first)."""
    if isinstance(result, tuple):
        return Answer(200, content_type_header(str(result[1])), _bytes(result[0]))
    if hasattr(result, "status_code") and hasattr(result, "get_data"):  # a response object
        header = getattr(result, "content_type", None) or content_type_header(result.mimetype)
        return Answer(int(result.status_code), str(header), bytes(result.get_data()))
    return Answer(200, "text/html; charset=utf-8", _bytes(result))


def content_type_header(mimetype: str) -> str:
    """Werkzeug's Content-Type for a mimetype: text/* gets "; charset=utf-8"."""
    if mimetype.startswith("text/") and "charset" not in mimetype:
        return f"{mimetype}; charset=utf-8"
    return mimetype


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")
