"""The one place errors become replies: ``{"error": reason, "message": ...}`` with the right status."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from arenahub.core.errors import ArenaError

log = logging.getLogger(__name__)


def error_reply(status: int, reason: str, message: str, extra: dict[str, object] | None = None) -> JSONResponse:
    """A JSON error reply in the gateway's one error shape (``extra`` adds fields such as ``resets_at``)."""
    return JSONResponse({**(extra or {}), "error": reason, "message": message}, status_code=status)


async def _arena_error(request: Request, exc: ArenaError) -> JSONResponse:
    if exc.log_detail or exc.status >= 500:
        log.warning("%s %s -> %s %s: %s", request.method, request.url.path, exc.status, exc.reason, exc.log_detail)
    reply = error_reply(exc.status, exc.reason, exc.message, extra=getattr(exc, "reply_extra", None))
    reply.headers.update(getattr(exc, "reply_headers", None) or {})  # e.g. Retry-After on a quota refusal
    return reply


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
    return error_reply(422, "request-invalid", f"The request has problems: {problems}.")


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    reasons = {404: "not-found", 405: "method-not-allowed"}
    message = (
        f"No such endpoint: {request.method} {request.url.path}. See /openapi.json for the API."
        if exc.status_code in reasons
        else str(exc.detail)
    )
    return error_reply(exc.status_code, reasons.get(exc.status_code, "http-error"), message)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    incident = secrets.token_hex(4)
    log.error("Unexpected error %s in %s %s", incident, request.method, request.url.path, exc_info=exc)
    return error_reply(
        500,
        "internal-error",
        f"Something went wrong inside the gateway (incident {incident}). Try again; if it keeps "
        "happening, tell the organisers and quote the incident code.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into the gateway's JSON error shape."""
    app.add_exception_handler(ArenaError, _arena_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
