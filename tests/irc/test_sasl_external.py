"""SASL EXTERNAL: the user chooses it, the gateway presents the operator's client certificate."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bridge.errors import AuthFailed
from bridge.network import LoginContext
from plugins.irc.network import IrcNetwork, server_scope
from plugins.irc.protocol.sasl import SaslExternal, SaslPlain
from plugins.irc.settings import ServerSettings
from tests.irc.loopback import Loopback
from tests.irc.sasl_server import ScriptedSaslServer
from tests.irc.test_transport import Certificate, make_certificate, server_context
from tests.memory_store import MemoryStore

SERVER = "irc.example.org"


def network(certificate: Certificate | None, tls_port: int = 6697) -> IrcNetwork:
    preset: dict[str, Any] = {"address": "127.0.0.1", "ports": [], "tls_ports": [tls_port]}
    if certificate is not None:
        preset |= {
            "client_certfile": str(certificate.certfile),
            "client_keyfile": str(certificate.keyfile),
        }
    return IrcNetwork({"networks": {SERVER: preset}})


def link_config(irc: IrcNetwork, **settings: Any) -> Any:
    return irc._link_config(SERVER, ServerSettings(**settings), None, "alice")


@pytest.fixture
def gateway_certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path, "gateway-client")


def test_plain_is_the_default_and_external_presents_the_presets_certificate(
    gateway_certificate: Certificate,
) -> None:
    irc = network(gateway_certificate)
    assert link_config(irc).sasl is None
    plain = link_config(irc, sasl_password=SecretStr("hunter2"))
    assert isinstance(plain.sasl, SaslPlain) and plain.tls.certfile is None
    external = link_config(irc, sasl_mechanism="EXTERNAL", ports=["6667"])
    assert isinstance(external.sasl, SaslExternal)
    assert external.tls.certfile == gateway_certificate.certfile
    assert external.tls.keyfile == gateway_certificate.keyfile
    assert external.ports == ()  # a certificate is never offered where it cannot be shown


def test_external_without_a_certificate_or_tls_port_says_what_to_change(
    gateway_certificate: Certificate,
) -> None:
    with pytest.raises(AuthFailed, match="operator has set none"):
        link_config(network(None), sasl_mechanism="EXTERNAL")
    with pytest.raises(AuthFailed, match="no TLS port"):
        link_config(network(gateway_certificate), sasl_mechanism="EXTERNAL", tls_ports=[])


@pytest.mark.parametrize(
    ("preset", "complaint"),
    [
        ({"client_certfile": "/nonexistent/gateway.crt"}, "not a readable file"),
        ({"client_keyfile": __file__}, "needs its certificate"),
    ],
)
def test_presets_with_unusable_certificate_files_are_refused(
    preset: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        IrcNetwork({"networks": {SERVER: preset}})


@pytest.fixture
async def sasl_server(
    tmp_path: Path, gateway_certificate: Certificate
) -> AsyncIterator[tuple[ScriptedSaslServer, Certificate]]:
    server_certificate = make_certificate(tmp_path, "localhost")
    context = server_context(server_certificate, client_ca=gateway_certificate.certfile)
    async with ScriptedSaslServer("EXTERNAL", accepted="+", context=context) as server:
        yield server, server_certificate


async def test_a_user_who_chose_external_logs_in_with_the_certificate(
    sasl_server: tuple[ScriptedSaslServer, Certificate], gateway_certificate: Certificate
) -> None:
    server, server_certificate = sasl_server
    irc = network(gateway_certificate, tls_port=server.port)
    store = MemoryStore()
    pin = hashlib.sha256(server_certificate.der).hexdigest()
    await store.save(
        server_scope(SERVER),
        ServerSettings(
            sasl_mechanism="EXTERNAL", fingerprint=pin, tls_ports=[str(server.port)], ports=[]
        ),
    )
    context = LoginContext("alice@example.org", None, lambda event: None, Loopback(), store)
    session = await irc.login(context)
    try:
        link = await asyncio.wait_for(session.link(SERVER), 10)
        assert link.state is not None and link.state.nick == "alice"
        assert server.peer_certificate == gateway_certificate.der
        assert "AUTHENTICATE EXTERNAL" in server.lines and "AUTHENTICATE +" in server.lines
    finally:
        await session.close("done")
