"""What the site's route modules share: a page's response, the query-length check, and the
answer when the live model cannot draw now (503 or 429 with Retry-After)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ganpage.live.engine import LiveEngine, LiveUnavailable
from ganpage.web.conventions import MAX_QUERY_LENGTH, NO_STORE

GET = ["GET", "HEAD"]  # the methods of every public route (hygiene.py answers HEAD as GET)


def html(body: str | bytes, status_code: int = 200) -> HTMLResponse:
    """A page of the site: never cached, as it shows the gallery as it is now."""
    return HTMLResponse(body, status_code=status_code, headers=NO_STORE)


def check_query(request: Request) -> None:
    """Raise 400 for a query string longer than any page takes."""
    if len(request.url.query) > MAX_QUERY_LENGTH:
        raise HTTPException(400, "query string too long")


def unavailable(error: LiveUnavailable) -> HTTPException:
    """The HTTP error of a live picture that cannot be drawn now."""
    return HTTPException(error.status, error.reason,
                         headers={"Retry-After": str(error.retry_after)})


async def model_ready(engine: LiveEngine) -> None:
    """Wait for the model as ``engine.ready`` does; a 503 with Retry-After if it is not."""
    try:
        await engine.ready()
    except LiveUnavailable as error:
        raise unavailable(error) from None
