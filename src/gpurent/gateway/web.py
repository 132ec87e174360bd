"""The web app's built files (``web/dist``, made by ``make web``) served by the gateway at ``/``.

- A file that exists under the folder is served with its own content type; the hashed bundles
  under ``assets/`` are cached for a year (their names change with their content), the rest
  revalidated.
- Any other path that is not the API's (``/api/``, ``/graphql``, ``/docs``, ``/openapi.json``)
  and does not name a file is one of the app's pages (``/wallet``), answered with
  ``index.html``; a missing file (``/assets/gone.js``, ``/logo.png``) is a 404.
- Only plain files inside the folder: no dotfiles, nothing outside it through ``..`` or a link.
- Text files (scripts, styles, HTML, SVG, JSON) go gzipped to a client that accepts it,
  each compressed once and kept in memory while the file is unchanged.
- The Guard gives these answers the app's CSP (:data:`WEB_CSP`): scripts, styles and requests
  from this origin only, no inline script.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from starlette.responses import FileResponse, JSONResponse, Response

from gpurent.errors import ConfigurationError

# The app's pages: scripts, styles, images, fonts and requests (fetch, WebSocket) from this
# origin only; nothing inline, no frames, no plugins, no <base>, no form posts elsewhere.
WEB_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
           "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_PREFIXES = ("/api/", "/graphql", "/docs", "/openapi.json")

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".json", ".webmanifest", ".svg", ".txt"}
MIN_GZIP = 1024  # bytes: smaller files gain less than gzip's own overhead
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith(API_PREFIXES)


def repo_web_dir() -> Path | None:
    """The repository's web/dist when it holds a build (a source checkout after ``make web``)."""
    root = Path(__file__).resolve().parents[3] / "web" / "dist"
    return root if (root / "index.html").is_file() else None


class WebApp:
    """The built app in ``root`` (its index.html must be there)."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.index = self.root / "index.html"
        if not self.index.is_file():
            raise ConfigurationError(f"web_dir {root} holds no index.html: build the web app (`make web`) or point "
                                     "web_dir at its dist folder")

    def answer(self, path: str, accept_encoding: str = "") -> Response:
        parts = [p for p in path.split("/") if p]
        if any(p.startswith(".") for p in parts):
            return _missing(path)
        if parts:
            candidate = self.root.joinpath(*parts)
            kind = TYPES.get(candidate.suffix.lower())
            if candidate.is_file() and not candidate.is_symlink() and kind is not None \
                    and candidate.resolve().is_relative_to(self.root):
                cache = IMMUTABLE if parts[0] == "assets" else REVALIDATE
                return _file(candidate, kind, cache, accept_encoding)
            if parts[0] == "assets" or "." in parts[-1]:
                return _missing(path)  # a file that is not there, not a page of the app
        return _file(self.index, TYPES[".html"], REVALIDATE, accept_encoding)


def _file(path: Path, kind: str, cache: str, accept_encoding: str) -> Response:
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
    if path.suffix.lower() in COMPRESSIBLE and "gzip" in accept_encoding.lower():
        info = path.stat()
        if info.st_size >= MIN_GZIP:
            body = _gzipped(path, info.st_mtime_ns, info.st_size)
            return Response(body, media_type=kind, headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(path, media_type=kind, headers=headers)


@functools.lru_cache(maxsize=256)
def _gzipped(path: Path, mtime_ns: int, size: int) -> bytes:
    """``path`` gzipped, once per version of the file (its mtime and size are the key)."""
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def _missing(path: str) -> Response:
    return JSONResponse({"error": f"no file {path[:200]} in the web app"}, status_code=404)
