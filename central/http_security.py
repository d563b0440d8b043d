"""Security headers on every response of the service, portal pages and API alike.

A pure ASGI middleware (it only adds headers to the response's start message), so that error
answers, 404s and whatever a route forgets carry them too. The portal's pages need no script
and take their styles from one stylesheet of their own: the policy allows nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
_HSTS = "max-age=63072000; includeSubDomains"  # two years, as browsers' preload lists ask
# FastAPI's interactive docs load their script from a CDN and run it inline: out of the
# policy, and served only outside production (central.app).
_DOCS = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds the security headers; a response that set its own Cache-Control keeps it (the
    portal's stylesheet may be cached, nothing else is)."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = list(self._headers(docs=path.startswith(_DOCS)))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in headers if name not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, *, docs: bool) -> Iterable[tuple[bytes, bytes]]:
        if not docs:
            yield b"content-security-policy", CONTENT_SECURITY_POLICY.encode()
        yield b"x-frame-options", b"DENY"
        yield b"x-content-type-options", b"nosniff"
        yield b"referrer-policy", b"no-referrer"
        yield b"cross-origin-opener-policy", b"same-origin"
        # Pages and answers carry personal data or a form: never kept by a browser or proxy.
        yield b"cache-control", b"no-store"
        if self.production:
            yield b"strict-transport-security", _HSTS.encode()
