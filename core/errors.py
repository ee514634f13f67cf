"""Errors a service raises; the API turns them into JSON, pages into flash messages."""
from __future__ import annotations


class TandemError(Exception):
    """Base of the errors a user can be shown as they are."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details or {}

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class RuleViolation(TandemError):
    """A business rule refuses the action (409): credit limit, stock shortage, posted entry."""

    status = 409
    code = "rule_violation"


class NotFound(TandemError):
    """The record does not exist, or the user may not see it (404)."""

    status = 404
    code = "not_found"


class ValidationFailed(TandemError):
    """Input that passed the schema but not a service's check, with field errors (422)."""

    status = 422
    code = "validation_failed"

    def __init__(self, errors: dict[str, list[str]], message: str = "Invalid input"):
        super().__init__(message)
        self.errors = errors

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "errors": self.errors}
