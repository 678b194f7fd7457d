"""Ad-hoc commands (XEP-0050) as a client sees them: driven through the service, no server."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr
from slixmpp import JID, ComponentXMPP
from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq
from slixmpp.xmlstream import ET, StanzaBase

from bridge.addressing import AddressGrammar, RoomAddress, ServerAddress
from bridge.commands import COMMANDS_NS, CommandService
from bridge.errors import NotConnected
from bridge.forms import KEEP_SECRET_HINT
from bridge.network import CommandContext, NetworkCommand
from bridge.routing import locate
from tests.memory_store import MemoryStore

GW = "irc.localhost"
SERVER = f"irc.libera.chat@{GW}"
ROOM = f"#chan%irc.libera.chat@{GW}"
CONTACT = f"bob%irc.libera.chat@{GW}"
ALICE = "alice@localhost/phone"
ADMIN = "root@localhost/desk"
NS = "jabber:x:data"


class Configure(BaseModel):
    nick: str = Field(title="Nickname")
    port: int = Field(6667, ge=1, le=65535, title="Port")
    password: SecretStr | None = Field(None, title="Password")


class Topic(BaseModel):
    topic: str


class NoFields(BaseModel):
    pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Gateway:
    """A service with a few commands, recording what the commands received."""

    def __init__(self, **options: Any) -> None:
        self.xmpp = ComponentXMPP(GW, "secret", "127.0.0.1", 5347)
        self.clock = Clock()
        self.ran: list[tuple[CommandContext, BaseModel]] = []
        self.legacy_session = object()
        self.service = CommandService(
            self.xmpp,
            locate=functools.partial(locate, grammar=AddressGrammar()),
            is_admin=lambda bare: bare == JID(ADMIN).bare,
            session_of=lambda bare: self.legacy_session,  # type: ignore[arg-type,return-value]
            store_for=lambda bare: MemoryStore(),
            clock=self.clock,
            **options,
        )
        stored = Configure(nick="alice", password=SecretStr("hunter2"))
        self.add("configure", Configure, "server", "Saved.", prefill=stored)
        self.add("topic", Topic, "room", "Topic set.")
        self.add("disconnect-all", NoFields, "gateway", "Everyone disconnected.", admin_only=True)
        self.add("whoami", NoFields, "gateway", "You are you.")

    def add(
        self,
        node: str,
        form: type[BaseModel],
        where: Any,
        note: str = "",
        *,
        prefill: BaseModel | BaseException | None = None,
        admin_only: bool = False,
        fails: BaseException | None = None,
    ) -> None:
        async def run(context: CommandContext, model: BaseModel) -> str:
            if fails is not None:
                raise fails
            self.ran.append((context, model))
            return note

        async def opening(context: CommandContext) -> BaseModel | None:
            if isinstance(prefill, BaseException):
                raise prefill
            return prefill

        self.service.add(
            NetworkCommand(
                node=node,
                name=node.title(),
                form=form,
                where=where,
                run=run,
                prefill=opening,
                admin_only=admin_only,
            )
        )

    def request(
        self,
        node: str,
        *,
        to: str = SERVER,
        sender: str = ALICE,
        action: str | None = None,
        session: str | None = None,
        answers: dict[str, str] | None = None,
    ) -> Iq:
        iq: Iq = self.xmpp.Iq()
        iq["type"] = "set"
        iq["id"] = "req1"
        iq["from"] = sender
        iq["to"] = to
        iq["command"]["node"] = node
        if action:
            iq["command"]["action"] = action
        if session:
            iq["command"]["sessionid"] = session
        if answers is not None:
            form = Form()
            form["type"] = "submit"
            for var, value in answers.items():
                field = ET.SubElement(form.xml, f"{{{NS}}}field", {"var": var})
                ET.SubElement(field, f"{{{NS}}}value").text = value
            iq["command"].append(form)
        return iq

    async def ask(self, node: str, **kwargs: Any) -> Iq:
        return await self.service.respond(self.request(node, **kwargs))


def field_values(reply: Iq) -> dict[str, list[str]]:
    form = reply["command"].xml.find(f"{{{NS}}}x")
    assert form is not None, f"no form in {reply}"
    return {
        f.get("var"): [v.text or "" for v in f.findall(f"{{{NS}}}value")]
        for f in form.findall(f"{{{NS}}}field")
    }


def specific_error(reply: Iq) -> str | None:
    found = [
        child.tag for child in reply["error"].xml if child.tag.startswith(f"{{{COMMANDS_NS}}}")
    ]
    return found[0].split("}")[1] if found else None


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


async def test_disco_lists_commands_by_place_and_hides_admin_ones(gateway: Gateway) -> None:
    alice, admin = JID(ALICE), JID(ADMIN)
    assert gateway.service.items_for(JID(GW), alice) == [("whoami", "Whoami")]
    assert set(gateway.service.items_for(JID(GW), admin)) == {
        ("whoami", "Whoami"),
        ("disconnect-all", "Disconnect-All"),
    }
    assert gateway.service.items_for(JID(SERVER), alice) == [("configure", "Configure")]
    assert gateway.service.items_for(JID(ROOM), alice) == [("topic", "Topic")]
    assert gateway.service.items_for(JID(CONTACT), alice) == []
    assert gateway.service.items_for(JID(f"{ROOM}/Nick"), alice) == []
    assert gateway.service.has_command(JID(SERVER), "configure", alice)
    assert not gateway.service.has_command(JID(GW), "configure", alice)
    assert not gateway.service.has_command(JID(GW), "disconnect-all", alice)
    assert gateway.service.has_command(JID(GW), "disconnect-all", admin)


async def test_execute_opens_a_prefilled_form_without_the_stored_secret(gateway: Gateway) -> None:
    reply = await gateway.ask("configure")
    assert reply["type"] == "result"
    assert (reply["from"], reply["to"]) == (JID(SERVER), JID(ALICE))
    assert reply["id"] == "req1"
    assert reply["command"]["status"] == "executing"
    assert reply["command"]["sessionid"]
    assert reply["command"]["actions"] == {"complete"}
    values = field_values(reply)
    assert values == {"nick": ["alice"], "port": ["6667"], "password": []}
    assert "hunter2" not in str(reply)
    assert KEEP_SECRET_HINT in str(reply)
    assert gateway.ran == []


async def test_complete_runs_the_command_with_validated_values(gateway: Gateway) -> None:
    opened = await gateway.ask("configure")
    session = opened["command"]["sessionid"]
    done = await gateway.ask(
        "configure",
        action="complete",
        session=session,
        answers={"nick": "alice2", "port": "6697", "password": ""},
    )
    assert done["command"]["status"] == "completed"
    assert done["command"]["sessionid"] == session
    assert done["command"]["notes"] == [("info", "Saved.")]
    [(context, model)] = gateway.ran
    assert context.user == "alice@localhost"
    assert context.target == ServerAddress("irc.libera.chat")
    assert context.session is gateway.legacy_session
    assert model == Configure(nick="alice2", port=6697, password=SecretStr("hunter2"))


async def test_invalid_submission_shows_the_form_again_with_values_and_error(
    gateway: Gateway,
) -> None:
    session = (await gateway.ask("configure"))["command"]["sessionid"]
    again = await gateway.ask(
        "configure", action="complete", session=session, answers={"nick": "", "port": "abc"}
    )
    assert again["type"] == "result"
    assert again["command"]["status"] == "executing"
    assert again["command"]["sessionid"] == session
    [(kind, text)] = again["command"]["notes"]
    assert kind == "error"
    assert "Nickname: required" in text
    assert "Port: must be a whole number between 1 and 65535 (got 'abc')" in text
    assert field_values(again)["port"] == ["abc"]
    assert gateway.ran == []
    fixed = await gateway.ask(
        "configure", action="complete", session=session, answers={"nick": "al", "port": "7000"}
    )
    assert fixed["command"]["status"] == "completed"
    assert gateway.ran[0][1] == Configure(nick="al", port=7000, password=SecretStr("hunter2"))


async def test_execute_with_the_session_id_counts_as_complete(gateway: Gateway) -> None:
    session = (await gateway.ask("configure"))["command"]["sessionid"]
    done = await gateway.ask("configure", session=session, answers={"nick": "x"})
    assert done["command"]["status"] == "completed"


async def test_form_sent_with_the_first_execute_runs_at_once(gateway: Gateway) -> None:
    done = await gateway.ask("topic", to=ROOM, answers={"topic": "hello"})
    assert done["command"]["status"] == "completed"
    assert done["command"]["notes"] == [("info", "Topic set.")]
    [(context, model)] = gateway.ran
    assert context.target == RoomAddress("irc.libera.chat", "#chan")
    assert model == Topic(topic="hello")


async def test_form_sent_with_the_first_execute_keeps_stored_secrets(gateway: Gateway) -> None:
    done = await gateway.ask("configure", answers={"nick": "bot", "password": ""})
    assert done["command"]["status"] == "completed"
    assert gateway.ran[0][1] == Configure(nick="bot", password=SecretStr("hunter2"))


async def test_invalid_first_submission_opens_a_session_to_fix_it(gateway: Gateway) -> None:
    again = await gateway.ask("configure", answers={"nick": "bot", "port": "0"})
    assert again["command"]["status"] == "executing"
    session = again["command"]["sessionid"]
    done = await gateway.ask("configure", session=session, answers={"nick": "bot", "port": "1"})
    assert done["command"]["status"] == "completed"


async def test_cancel_ends_the_session(gateway: Gateway) -> None:
    session = (await gateway.ask("configure"))["command"]["sessionid"]
    canceled = await gateway.ask("configure", action="cancel", session=session)
    assert canceled["type"] == "result"
    assert canceled["command"]["status"] == "canceled"
    late = await gateway.ask("configure", action="complete", session=session, answers={"nick": "x"})
    assert late["type"] == "error"
    assert late["error"]["condition"] == "bad-request"
    assert specific_error(late) == "bad-sessionid"
    assert gateway.ran == []


async def test_unknown_session_is_bad_request(gateway: Gateway) -> None:
    reply = await gateway.ask("configure", action="complete", session="nope", answers={})
    assert reply["type"] == "error"
    assert reply["error"]["condition"] == "bad-request"
    assert specific_error(reply) == "bad-sessionid"


async def test_session_is_bound_to_the_full_jid_that_opened_it(gateway: Gateway) -> None:
    session = (await gateway.ask("configure"))["command"]["sessionid"]
    for intruder in ("alice@localhost/laptop", "mallory@localhost/phone"):
        reply = await gateway.ask(
            "configure", sender=intruder, action="complete", session=session, answers={"nick": "x"}
        )
        assert reply["error"]["condition"] == "bad-request"
        assert specific_error(reply) == "bad-sessionid"
    done = await gateway.ask("configure", action="complete", session=session, answers={"nick": "x"})
    assert done["command"]["status"] == "completed"


async def test_session_expires(gateway: Gateway) -> None:
    session = (await gateway.ask("configure"))["command"]["sessionid"]
    gateway.clock.now += 601
    reply = await gateway.ask(
        "configure", action="complete", session=session, answers={"nick": "x"}
    )
    assert reply["type"] == "error"
    assert reply["error"]["condition"] == "not-allowed"
    assert specific_error(reply) == "session-expired"
    assert gateway.ran == []


async def test_sessions_per_user_are_bounded_oldest_goes_first() -> None:
    gateway = Gateway(max_sessions_per_user=2)
    first, second, third = [
        (await gateway.ask("configure"))["command"]["sessionid"] for _ in range(3)
    ]
    gone = await gateway.ask("configure", action="complete", session=first, answers={"nick": "x"})
    assert specific_error(gone) == "bad-sessionid"
    for session in (second, third):
        done = await gateway.ask(
            "configure", action="complete", session=session, answers={"nick": "x"}
        )
        assert done["command"]["status"] == "completed"


async def test_unknown_node_or_place_is_item_not_found(gateway: Gateway) -> None:
    places = (("nope", SERVER), ("configure", GW), ("configure", CONTACT), ("x", f"%@{GW}"))
    for node, to in places:
        reply = await gateway.ask(node, to=to)
        assert reply["type"] == "error", (node, to)
        assert reply["error"]["condition"] == "item-not-found"


async def test_admin_only_command_is_forbidden_to_others(gateway: Gateway) -> None:
    refused = await gateway.ask("disconnect-all", to=GW)
    assert refused["type"] == "error"
    assert refused["error"]["condition"] == "forbidden"
    assert gateway.ran == []
    done = await gateway.ask("disconnect-all", to=GW, sender=ADMIN)
    assert done["command"]["status"] == "completed"
    assert done["command"]["notes"] == [("info", "Everyone disconnected.")]


async def test_command_without_fields_completes_on_execute(gateway: Gateway) -> None:
    done = await gateway.ask("whoami", to=GW)
    assert done["command"]["status"] == "completed"
    assert done["command"].xml.find(f"{{{NS}}}x") is None
    [(context, _)] = gateway.ran
    assert context.target is None


async def test_legacy_error_from_run_is_an_error_note(gateway: Gateway) -> None:
    gateway.add("reconnect", NoFields, "server", fails=NotConnected("The IRC link is down."))
    done = await gateway.ask("reconnect")
    assert done["type"] == "result"
    assert done["command"]["status"] == "completed"
    assert done["command"]["notes"] == [("error", "The IRC link is down.")]


async def test_crash_in_run_reveals_nothing_internal(gateway: Gateway) -> None:
    gateway.add("crash", NoFields, "server", fails=RuntimeError("password=hunter2"))
    done = await gateway.ask("crash")
    assert done["command"]["status"] == "completed"
    [(kind, text)] = done["command"]["notes"]
    assert kind == "error"
    assert "hunter2" not in text
    assert "log" in text


async def test_failing_prefill_is_an_iq_error(gateway: Gateway) -> None:
    gateway.add("status", Topic, "server", prefill=NotConnected("Not connected to the server."))
    reply = await gateway.ask("status")
    assert reply["type"] == "error"
    assert reply["error"]["condition"] == "remote-server-timeout"
    assert reply["error"]["text"] == "Not connected to the server."


async def test_prev_and_malformed_actions_are_refused(gateway: Gateway) -> None:
    session = (await gateway.ask("configure"))["command"]["sessionid"]
    prev = await gateway.ask("configure", action="prev", session=session)
    assert specific_error(prev) == "bad-action"
    odd = await gateway.ask("configure", action="dance")
    assert odd["error"]["condition"] == "bad-request"
    assert specific_error(odd) == "malformed-action"


async def test_fixed_server_mode_puts_server_commands_on_the_gateway() -> None:
    gateway = Gateway(fixed_server=ServerAddress("irc.example.net"))
    assert ("configure", "Configure") in gateway.service.items_for(JID(GW), JID(ALICE))
    done = await gateway.ask("configure", to=GW, answers={"nick": "x"})
    assert done["command"]["status"] == "completed"
    assert gateway.ran[0][0].target == ServerAddress("irc.example.net")


async def test_two_commands_with_one_node_at_one_place_are_refused(gateway: Gateway) -> None:
    with pytest.raises(ValueError, match="'topic'"):
        gateway.add("topic", Topic, "room")


async def test_incoming_iq_is_answered_through_the_stream(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: asyncio.Queue[StanzaBase] = asyncio.Queue()
    capture: Callable[..., None] = lambda stanza, *args, **kwargs: sent.put_nowait(stanza)  # noqa: E731
    monkeypatch.setattr(gateway.xmpp, "send", capture)
    gateway.xmpp._spawn_event(gateway.request("whoami", to=GW).xml)
    reply = await asyncio.wait_for(sent.get(), timeout=5)
    assert reply["type"] == "result"
    assert reply["to"] == JID(ALICE)
    assert reply["from"] == JID(GW)
    assert reply["command"]["status"] == "completed"
    assert reply["command"]["notes"] == [("info", "You are you.")]
