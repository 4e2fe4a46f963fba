"""GET /: the page (page.html: HTML, CSS and JS in one file, no build step, nothing
fetched from elsewhere). A client that does not ask for HTML still gets the JSON health
object that / answered before the page existed."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

# the page may talk to this server and nothing else, whatever an answer's text holds
POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@lru_cache(maxsize=1)
def page_bytes() -> bytes:
    return resources.files("rag.web").joinpath("page.html").read_bytes()


def wants_page(path: str, accept: str) -> bool:
    """GET / from a browser (it asks for text/html)."""
    return path.split("?", 1)[0] in ("", "/", "/index.html") and "text/html" in (accept or "")


def send_page(handler) -> None:
    body = page_bytes()
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Content-Security-Policy", POLICY)
    handler.send_header("X-Content-Type-Options", "nosniff")
    handler.send_header("Cache-Control", "no-cache")
    handler.end_headers()
    handler.wfile.write(body)
