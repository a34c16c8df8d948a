"""Security headers on every response: the API's, the dashboard's files and every error alike.

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware), so server-sent event streams pass
through unbuffered and a handler's exception still reaches the exception handlers."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The dashboard (vite build): module scripts and one stylesheet from /assets, its API calls and
# SSE streams to its own origin, the favicon a data: URL; React and Recharts set styles through
# the CSSOM, which style-src does not govern. Nothing inline, nothing from elsewhere.
DASHBOARD_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# FastAPI's Swagger UI page: an inline script, its bundle and stylesheet from jsDelivr.
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"  # production only: it binds the host to HTTPS


class SecurityHeaders:
    """Adds nosniff, a Content-Security-Policy, frame and referrer rules (and HSTS when
    `hsts`) to every HTTP response; a header the route set itself is kept."""

    def __init__(self, app: ASGIApp, *, docs_path: str, hsts: bool):
        self.app = app
        self.docs_path = docs_path
        self.common = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
            "Referrer-Policy": "no-referrer",
            "Cross-Origin-Opener-Policy": "same-origin",
            **({"Strict-Transport-Security": HSTS} if hsts else {}),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(self.docs_path) else DASHBOARD_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**self.common, "Content-Security-Policy": csp}.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
