"""The central service's error tree; central.app maps it to HTTP in one handler.

A request that fails is rolled back whole; what must stay anyway (the trace of a refusal, a
failed try counted) is written with central.db.keep_on_failure, not flagged on the error.

ServiceError (500)
├── BadRequest (400)            malformed input the schema could not catch
├── Unauthenticated (401)       no, bad or expired session
│   └── WrongCode (401)         a code typed wrong, with the tries it has left
├── Forbidden (403)             the rules refuse this actor
│   └── ForbiddenParty (403)    employer, insurer, bank, occupational medicine
├── NotFound (404)
├── Conflict (409)              already exists, replaced document...
├── Gone (410)                  expired or spent code
├── TooManyRequests (429)       throttled resends, too many tries
└── BadConfiguration (500)      the service cannot start as configured (a weak key file...)
"""

from __future__ import annotations

__all__ = [
    "BadConfiguration",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "ForbiddenParty",
    "Gone",
    "NotFound",
    "ServiceError",
    "TooManyRequests",
    "Unauthenticated",
    "WrongCode",
]


class ServiceError(Exception):
    """Root of the errors the service raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class BadRequest(ServiceError):
    status_code = 400
    code = "bad_request"


class Unauthenticated(ServiceError):
    status_code = 401
    code = "unauthenticated"


class WrongCode(Unauthenticated):
    """A code typed wrong: the person is told how many tries the code has left."""

    code = "bad_code"

    def __init__(self, detail: str, *, tries_left: int) -> None:
        super().__init__(detail)
        self.tries_left = max(0, tries_left)


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class ForbiddenParty(Forbidden):
    code = "forbidden_party"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class Gone(ServiceError):
    status_code = 410
    code = "gone"


class TooManyRequests(ServiceError):
    status_code = 429
    code = "too_many_requests"

    def __init__(
        self, detail: str, *, code: str | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(detail, code=code)
        self.retry_after_s = retry_after_s  # sent as Retry-After when known


class BadConfiguration(ServiceError):
    """The service refuses to start as configured; the detail names what to fix."""

    code = "bad_configuration"
