"""Shared links fetched for Matrix: the host policy and the size bound hold, without Synapse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web

from bridge.config import HostPolicyConfig
from bridge.errors import BadRequest, Forbidden, NoSuchRoom
from bridge.policy import HostPolicy
from plugins.matrix.media import MatrixMedia
from tests.web_host import serving


@pytest.fixture
async def web_host() -> AsyncIterator[str]:
    """A loopback server with a 2 KB file, and a redirect to a name the policy denies."""

    async def small(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 2048, content_type="text/plain")

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://intranet.example/secret")

    async with serving({"/small.txt": small, "/away": away}) as url:
        yield url


def media_with(http: aiohttp.ClientSession, policy: HostPolicyConfig) -> MatrixMedia:
    client = SimpleNamespace(client_session=http, access_token="t", homeserver="")
    return MatrixMedia(client, HostPolicy(policy), max_bytes=1024)


async def test_a_private_address_is_refused_without_allow_private(web_host: str) -> None:
    async with aiohttp.ClientSession() as http:
        media = media_with(http, HostPolicyConfig())
        with pytest.raises(Forbidden, match="allow_private"):
            await media.upload(f"{web_host}/small.txt")


async def test_a_redirect_to_a_denied_host_and_an_oversized_file_are_refused(
    web_host: str,
) -> None:
    async with aiohttp.ClientSession() as http:
        media = media_with(http, HostPolicyConfig(allow_private=True, deny=["*.example"]))
        with pytest.raises(Forbidden, match=r"intranet\.example"):
            await media.upload(f"{web_host}/away")
        with pytest.raises(BadRequest, match="larger than"):
            await media.upload(f"{web_host}/small.txt")
        with pytest.raises(BadRequest, match="not an http"):
            await media.upload("file:///etc/passwd")
        with pytest.raises(NoSuchRoom, match="is not a Matrix media address"):
            await media.open_media("mxc://server/../../etc")
