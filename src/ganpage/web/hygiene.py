"""HTTP hygiene on every response: security headers, and HEAD answered wherever GET is.

The pages load only the site's own stylesheet, icon and pictures (no script, no inline style,
no frame), so the policy allows exactly that; the random page's fast path sends the same
``SECURITY_HEADERS`` itself. A response that sets its own Content-Security-Policy keeps it
(the live page adds WebAssembly to it: ``web/live_page.py``).
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
]
ALLOWED_METHODS = "GET, HEAD"  # the site is read-only: every resource allows these


class Hygiene:
    """ASGI wrapper: adds ``SECURITY_HEADERS`` to every response and answers HEAD as GET
    without the body (its headers, Content-Length included, are the GET's)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        inner = {**scope, "method": "GET"} if head else scope  # the server's scope says HEAD

        async def hygienic_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                own = {name.lower() for name, _ in headers}  # a page's own policy wins (live)
                message = {**message, "headers": [*headers, *(
                    header for header in SECURITY_HEADERS if header[0] not in own)]}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(inner, receive, hygienic_send)
        if "endpoint" in inner:
            scope["endpoint"] = inner["endpoint"]  # the router's match, for the metrics' label
