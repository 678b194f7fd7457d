"""The user's files on their homeserver: attachments read for XMPP, shared files stored.

Reading (``mxc://`` → bytes) uses the authenticated media API with the user's token,
falling back to the legacy unauthenticated one on homeservers that lack it; the token
only ever travels in the Authorization header to the homeserver. Storing a file the user
shares from XMPP downloads its URL through the operator's host policy (every address and
every redirect checked, a bounded size) and uploads it to the media repository.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from aiohttp import ClientError, ClientResponse, ClientTimeout

from bridge.errors import BadRequest, Forbidden, LegacyError, NoSuchRoom, NotConnected, RateLimited
from bridge.network import HostResolver, MediaStream

MAX_SHARED_BYTES = 100 * 1024 * 1024
MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
AUTHENTICATED_DOWNLOAD = "/_matrix/client/v1/media/download/"
LEGACY_DOWNLOAD = "/_matrix/media/v3/download/"
AUTHENTICATED_THUMBNAIL = "/_matrix/client/v1/media/thumbnail/"
LEGACY_THUMBNAIL = "/_matrix/media/v3/thumbnail/"
THUMBNAIL_MARK = "#thumbnail"
"""Ends a ref whose picture is read as the homeserver's thumbnail, where it has one."""
THUMBNAIL_QUERY = "?width=96&height=96&method=crop"
"""A size every homeserver makes at upload (Synapse's defaults) and avatars show at."""
UPLOAD = "/_matrix/media/v3/upload"
OCTET_STREAM = "application/octet-stream"
# Long transfers: no overall limit, but a stalled peer is given up on.
TRANSFER_TIMEOUT = ClientTimeout(total=None, sock_connect=30, sock_read=60)
_MXC = re.compile(
    r"mxc://(?P<server>[A-Za-z0-9.:\[\]-]+)/(?P<media_id>[A-Za-z0-9_-]+)"
    rf"(?P<thumbnail>{THUMBNAIL_MARK})?"
)
_KINDS = {"image": "m.image", "audio": "m.audio", "video": "m.video"}


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file the user shared, now in the homeserver's media repository."""

    mxc: str
    name: str
    media_type: str
    size: int

    def content(self) -> dict[str, Any]:
        """The fields of the ``m.room.message`` that shows the file."""
        kind = _KINDS.get(self.media_type.partition("/")[0], "m.file")
        return {
            "msgtype": kind,
            "body": self.name,
            "filename": self.name,
            "url": self.mxc,
            "info": {"mimetype": self.media_type, "size": self.size},
        }


class MatrixMedia:
    """One user's media on one homeserver (a bridge.network.MediaSource)."""

    def __init__(
        self, client: Any, hosts: HostResolver, *, max_bytes: int = MAX_SHARED_BYTES
    ) -> None:
        self._client = client
        self._hosts = hosts
        self._max_bytes = max_bytes

    async def open_media(self, ref: str) -> MediaStream:
        """The file *ref* names; a :func:`thumbnail_ref` reads its thumbnail when the
        homeserver has one, the file itself otherwise."""
        match = _MXC.fullmatch(ref)
        if match is None:
            raise NoSuchRoom(f"{ref!r} is not a Matrix media address (mxc://server/id).")
        path = f"{match['server']}/{match['media_id']}"
        try:
            response = None
            if match["thumbnail"]:
                thumbnail = path + THUMBNAIL_QUERY
                response = await self._get(AUTHENTICATED_THUMBNAIL, LEGACY_THUMBNAIL, thumbnail)
                if response.status != 200:  # none made (not an image it can scale): the file
                    response.release()
                    response = None
            if response is None:
                response = await self._get(AUTHENTICATED_DOWNLOAD, LEGACY_DOWNLOAD, path)
        except (ClientError, TimeoutError) as error:
            raise NotConnected(f"The homeserver did not answer: {error}") from None
        if response.status != 200:
            failure = _refusal(response.status, await _errcode(response), f"The file {ref}")
            response.release()
            raise failure
        return MediaStream(
            media_type=response.content_type or OCTET_STREAM,
            size=response.content_length,
            name=(response.content_disposition and response.content_disposition.filename) or "",
            chunks=_chunks(response),
        )

    async def _get(self, authenticated: str, legacy: str, path: str) -> ClientResponse:
        """GET through the authenticated media API, or the legacy one where it is missing."""
        response = await self._homeserver("GET", authenticated + path)
        if response.status != 200 and _unrecognized(response, await _errcode(response)):
            response.release()
            response = await self._homeserver("GET", legacy + path)
        return response

    async def upload(self, url: str) -> SharedFile:
        """Fetch the file at *url* and store it on the homeserver, with its name and type."""
        data, media_type, name = await self._fetch(url)
        try:
            response = await self._homeserver(
                "POST", f"{UPLOAD}?filename={quote(name)}", data=data, media_type=media_type
            )
            answer = await response.json(content_type=None) if response.status == 200 else {}
        except (ClientError, TimeoutError, ValueError) as error:
            raise NotConnected(f"The homeserver did not take the file {name}: {error}") from None
        mxc = answer.get("content_uri") if isinstance(answer, Mapping) else None
        if not isinstance(mxc, str):
            errcode = await _errcode(response)
            raise _refusal(response.status, errcode, f"The upload of {name}")
        return SharedFile(mxc, name, media_type, len(data))

    async def _homeserver(
        self, method: str, path: str, *, data: bytes | None = None, media_type: str = ""
    ) -> ClientResponse:
        headers = {"Authorization": f"Bearer {self._client.access_token}"}
        if media_type:
            headers["Content-Type"] = media_type
        session = self._client.client_session
        url = self._client.homeserver.rstrip("/") + path
        response: ClientResponse = await session.request(
            method, url, data=data, headers=headers, timeout=TRANSFER_TIMEOUT
        )
        return response

    async def _fetch(self, url: str) -> tuple[bytes, str, str]:
        """The bytes, media type and name of the file at *url*, within the size bound."""
        for _ in range(MAX_REDIRECTS + 1):
            await self._allowed(url)
            try:
                async with self._client.client_session.get(
                    url, allow_redirects=False, timeout=TRANSFER_TIMEOUT
                ) as response:
                    location = response.headers.get("Location")
                    if response.status in (301, 302, 303, 307, 308) and location:
                        url = urljoin(url, location)
                        continue
                    if response.status != 200:
                        raise BadRequest(f"{url} could not be fetched (HTTP {response.status}).")
                    data = await self._bounded(url, response)
                    return data, _media_type(response, url), _name_of(response, url)
            except (ClientError, TimeoutError) as error:
                raise NotConnected(f"{url} could not be fetched: {error}") from None
        raise BadRequest(f"{url} redirects more than {MAX_REDIRECTS} times.")

    async def _allowed(self, url: str) -> None:
        """Refuse what the host policy refuses (names, and addresses given as numbers)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequest(f"{url} is not an http(s) link to a file.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self._hosts.resolve(parts.hostname, port)

    async def _bounded(self, url: str, response: ClientResponse) -> bytes:
        too_big = BadRequest(
            f"{url} is larger than the {self._max_bytes // (1024 * 1024)} MB"
            " this gateway passes on to Matrix."
        )
        if response.content_length is not None and response.content_length > self._max_bytes:
            raise too_big
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            data += chunk
            if len(data) > self._max_bytes:
                raise too_big
        return bytes(data)


def thumbnail_ref(mxc: str) -> str:
    """The ref that reads *mxc* as a small picture (a room's avatar)."""
    return mxc + THUMBNAIL_MARK


async def _chunks(response: ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            yield chunk
    finally:
        response.release()


async def _errcode(response: ClientResponse) -> str:
    try:
        answer = await response.json(content_type=None)
    except (ValueError, ClientError):
        return ""
    return str(answer.get("errcode", "")) if isinstance(answer, Mapping) else ""


def _unrecognized(response: ClientResponse, errcode: str) -> bool:
    """A homeserver without the authenticated media API (older than Matrix 1.11)."""
    return errcode == "M_UNRECOGNIZED" or (response.status in (404, 405) and not errcode)


def _refusal(status: int, errcode: str, what: str) -> LegacyError:
    detail = f"HTTP {status}{f' {errcode}' if errcode else ''}"
    if status == 404 or errcode == "M_NOT_FOUND":
        return NoSuchRoom(f"{what} does not exist on the homeserver ({detail}).")
    if status in (401, 403):
        return Forbidden(f"{what} was refused by the homeserver ({detail}).")
    if status == 413 or errcode == "M_TOO_LARGE":
        return BadRequest(f"{what} is larger than the homeserver accepts ({detail}).")
    if status == 429:
        return RateLimited(f"{what}: the homeserver asks to slow down ({detail}).")
    return NotConnected(f"{what} failed on the homeserver ({detail}).")


def _name_of(response: ClientResponse, url: str) -> str:
    disposition = response.content_disposition
    if disposition is not None and disposition.filename:
        return disposition.filename
    return unquote(urlsplit(url).path.rpartition("/")[2]) or "file"


def _media_type(response: ClientResponse, url: str) -> str:
    declared = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if declared and declared != OCTET_STREAM:
        return declared
    return mimetypes.guess_type(urlsplit(url).path)[0] or OCTET_STREAM
