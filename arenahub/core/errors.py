"""The error hierarchy every arenahub part raises; the gateway turns each into one JSON reply."""

from __future__ import annotations


class ArenaError(Exception):
    """An error a user, organiser or operator should read: a message, a reason code, an HTTP status.

    ``message`` says what happened, why, and what to do next; ``reason`` is a short stable
    code (``"dataset-unknown"``) that clients may branch on; ``log_detail`` is written to the
    operator's log only and never shown to a participant.
    """

    status = 400

    def __init__(self, message: str, *, reason: str, log_detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.log_detail = log_detail


class InvalidInput(ArenaError):
    """The request is well-formed but names something that cannot be used (400)."""

    status = 400


class UnprocessableInput(ArenaError):
    """A value in the request is outside its allowed range or set (422)."""

    status = 422


class PayloadTooLarge(ArenaError):
    """An upload is bigger than the configured limit (413)."""

    status = 413


class NotAuthenticated(ArenaError):
    """No credentials, or credentials the hub does not recognise (401)."""

    status = 401


class PermissionDenied(ArenaError):
    """The caller is known but lacks the scope this action needs (403)."""

    status = 403


class NotFound(ArenaError):
    """The object does not exist or is not visible to the caller (404)."""

    status = 404


class Conflict(ArenaError):
    """The action does not fit the object's current state, e.g. cancelling a finished job (409)."""

    status = 409


class Gone(ArenaError):
    """The object existed but was removed on purpose, e.g. by a retention rule (410)."""

    status = 410


class QuotaExceeded(ArenaError):
    """The action would exceed a quota or competition window (429)."""

    status = 429


class ServiceUnavailable(ArenaError):
    """A service this action depends on did not answer (503)."""

    status = 503
