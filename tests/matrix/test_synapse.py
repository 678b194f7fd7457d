"""The Synapse of the test suite: users, rooms and messages between two nio clients."""

import os
from pathlib import Path
from typing import Any

import pytest
from nio import JoinResponse, RoomCreateResponse, RoomSendResponse

from bridge.devservers import ServerError, Synapse
from bridge.devservers.ports import LOOPBACK
from bridge.devservers.process import accepts_connections
from bridge.devservers.synapse import SYNAPSE_PYTHON_VARIABLE, register_with_shared_secret
from tests.matrix.conftest import MatrixClientFactory, sync_until, text_message
from tests.synapse_fixtures import MatrixUserFactory


async def send_text(client: Any, room_id: str, body: str) -> None:
    content = {"msgtype": "m.text", "body": body}
    response = await client.room_send(room_id, "m.room.message", content)
    assert isinstance(response, RoomSendResponse), response


async def test_two_users_talk_in_a_room(
    matrix_user: MatrixUserFactory, matrix_client: MatrixClientFactory
) -> None:
    alice = await matrix_client(await matrix_user("alice"))
    bob = await matrix_client(await matrix_user("bob"))

    created = await alice.room_create(name="tea", invite=[bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    await sync_until(bob, lambda sync: room_id in sync.rooms.invite, what="the invitation")
    assert isinstance(await bob.join(room_id), JoinResponse)

    await send_text(alice, room_id, "hello bob")
    await sync_until(bob, text_message(room_id, alice.user_id, "hello bob"), what="alice's text")
    await send_text(bob, room_id, "hi alice")
    await sync_until(alice, text_message(room_id, bob.user_id, "hi alice"), what="bob's text")


async def test_registration_with_a_wrong_secret_creates_nobody(synapse: Synapse) -> None:
    with pytest.raises(ServerError, match="HTTP 403"):
        await register_with_shared_secret(synapse.base_url, "not the secret", "mallory", "pw")

    account = await synapse.register_user("mallory", "pw")

    assert account.user_id == f"@mallory:{synapse.server_name}"


def processes_reading(config_path: Path) -> list[int]:
    """Pids of live processes whose command line names the config file."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command_line = (entry / "cmdline").read_bytes()
        except OSError:  # not a process, or it ended while we looked
            continue
        if str(config_path).encode() in command_line.split(b"\0"):
            pids.append(int(entry.name))
    return pids


async def test_stopping_synapse_leaves_no_process(tmp_path: Path) -> None:
    server = Synapse(tmp_path)
    await server.start()
    assert server.pid is not None
    assert processes_reading(server.config_path) == [server.pid]

    await server.stop()

    assert processes_reading(server.config_path) == []
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)
    assert not await accepts_connections(server.port), f"{LOOPBACK}:{server.port} still open"


async def test_a_missing_synapse_python_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SYNAPSE_PYTHON_VARIABLE, raising=False)

    with pytest.raises(ServerError, match=r"bash scripts/test\.sh"):
        await Synapse(tmp_path).start()
    with pytest.raises(ServerError, match=r"/nowhere/python .*bash scripts/test\.sh"):
        await Synapse(tmp_path, python="/nowhere/python").start()
