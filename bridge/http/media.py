"""``GET /media/<token>``: an attachment streamed from the user's legacy session.

The token (see :mod:`bridge.http.signing`) says which gateway, user and media handle; the
session fetches with its own credentials, which never leave the gateway. The token is
never logged: it is as good as the file for whoever holds it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncGenerator, Callable
from urllib.parse import quote

from aiohttp import web

from bridge.errors import (
    AuthFailed,
    Forbidden,
    LegacyError,
    NoSuchContact,
    NoSuchRoom,
    NotConnected,
    NotSupported,
    RateLimited,
    error_text,
)
from bridge.http.signing import ExpiredToken, MediaSigner, TokenRefused
from bridge.network import LegacySession, MediaStream, media_source_of

log = logging.getLogger(__name__)

SessionFinder = Callable[[str, str], LegacySession | None]
"""(gateway domain, user) → the user's session on that gateway, if logged in."""

_STATUS_FOR: dict[type[LegacyError], int] = {
    NoSuchRoom: 404,
    NoSuchContact: 404,
    NotSupported: 404,
    Forbidden: 403,
    AuthFailed: 403,
    NotConnected: 503,
    RateLimited: 503,
}
_MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
_INLINE_KINDS = ("image/", "audio/", "video/")
# Active content would run with this server's origin; it is only ever downloaded.
_NEVER_INLINE = ("image/svg+xml",)


class MediaProxy:
    def __init__(self, signer: MediaSigner, find_session: SessionFinder, max_bytes: int) -> None:
        self._signer = signer
        self._find_session = find_session
        self._max_bytes = max_bytes

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            grant = self._signer.verify(request.match_info["token"], now=time.time())
        except TokenRefused as refused:
            status = 410 if isinstance(refused, ExpiredToken) else 403
            return web.Response(status=status, text=str(refused))
        session = self._find_session(grant.gateway, grant.user)
        if session is None:
            return web.Response(
                status=503,
                text="The file is fetched through its recipient's session on the gateway, "
                "which is not connected now; try again when they are online.",
            )
        source = media_source_of(session)
        if source is None:
            return web.Response(status=404, text="This network serves no files.")
        try:
            stream = await source.open_media(grant.ref)
        except LegacyError as failure:
            return web.Response(status=_status_for(failure), text=error_text(failure))
        try:
            return await self._stream(request, stream)
        finally:
            if isinstance(stream.chunks, AsyncGenerator):
                await stream.chunks.aclose()

    async def _stream(self, request: web.Request, stream: MediaStream) -> web.StreamResponse:
        if stream.size is not None and stream.size > self._max_bytes:
            return web.Response(
                status=413,
                text=f"The file has {stream.size} bytes; this gateway passes on at most "
                f"{self._max_bytes}.",
            )
        response = web.StreamResponse(headers=_headers(stream))
        if stream.size is not None:
            response.content_length = stream.size
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        limit = self._max_bytes if stream.size is None else min(stream.size, self._max_bytes)
        sent = 0
        async for chunk in stream.chunks:
            sent += len(chunk)
            if sent > limit:
                log.warning("media from the network exceeds %d bytes; transfer cut", limit)
                if request.transport is not None:
                    request.transport.close()
                return response
            await response.write(chunk)
        await response.write_eof()
        return response


def _status_for(failure: LegacyError) -> int:
    """The HTTP status for a network's refusal; anything unforeseen is a bad gateway."""
    return next((_STATUS_FOR[c] for c in type(failure).__mro__ if c in _STATUS_FOR), 502)


def _headers(stream: MediaStream) -> dict[str, str]:
    media_type = stream.media_type.split(";")[0].strip().lower()
    if not _MEDIA_TYPE.fullmatch(media_type):
        media_type = "application/octet-stream"
    inline = media_type.startswith(_INLINE_KINDS) and media_type not in _NEVER_INLINE
    return {
        "Content-Type": media_type,
        "Content-Disposition": _disposition("inline" if inline else "attachment", stream.name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600",
    }


def _disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name (RFC 8187)."""
    if not name:
        return kind
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
