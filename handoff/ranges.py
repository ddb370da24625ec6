"""Files served in parts: a browser's player asks for a recording's end to learn how long it plays."""

from __future__ import annotations

from aiohttp import web


def ranged(request: web.Request, body: bytes, content_type: str, headers: dict[str, str]) -> web.Response:
    """The whole body, or the one range of it the request asks for (206, or 416 if there is none)."""
    headers = headers | {"Accept-Ranges": "bytes"}
    try:
        wanted = request.http_range
    except ValueError:  # several ranges, or nonsense: not served in part
        wanted = slice(None, None)
    if wanted.start is None and wanted.stop is None:
        return web.Response(body=body, content_type=content_type, headers=headers)
    start, stop, _ = wanted.indices(len(body))
    if start >= stop:
        return web.Response(status=416, headers=headers | {"Content-Range": f"bytes */{len(body)}"})
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(body)}"
    return web.Response(status=206, body=body[start:stop], content_type=content_type, headers=headers)
