"""Shared set-up for the IrcClientState tests: a registered connection and a joined channel."""

from __future__ import annotations

from bridge.addressing import RoomAddress
from bridge.events import LegacyEvent, RoomJoined
from plugins.irc.client_state import IrcClientState, Output
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, parse_line

SERVER = "irc.example.org"
ME = "me"
ROOM = RoomAddress(SERVER, "#chan")
FEATURES = ServerFeatures().with_tokens(
    ["PREFIX=(qaohv)~&@%+", "CHANMODES=beI,k,l,imnst", "CASEMAPPING=rfc1459", "STATUSMSG=@+"]
)


def make_state(
    caps: frozenset[str] = frozenset(), features: ServerFeatures = FEATURES
) -> IrcClientState:
    return IrcClientState(
        server=SERVER, nick=ME, features=features, caps=caps, version="bridge 1.0"
    )


def feed(state: IrcClientState, *lines: str) -> list[Output]:
    """Everything the state answers to these server lines, in order."""
    out: list[Output] = []
    for text in lines:
        out += state.receive(parse_line(text.encode()))
    return out


def events(outputs: list[Output]) -> list[LegacyEvent]:
    return [output for output in outputs if not isinstance(output, IrcMessage)]


def wire(outputs: list[Output]) -> list[str]:
    """The lines to send, as the server would read them."""
    return [
        output.to_line().decode().removesuffix("\r\n")
        for output in outputs
        if isinstance(output, IrcMessage)
    ]


def join_channel(
    state: IrcClientState, channel: str = "#chan", names: str = "~owner @op +voice plain me"
) -> RoomJoined:
    """Join *channel* the way a server answers, and return the one RoomJoined."""
    state.join(channel, ME, None)
    out = feed(
        state,
        f":me!~me@gateway.example JOIN {channel}",
        f":{SERVER} 332 me {channel} :the \x02topic\x02",
        f":{SERVER} 333 me {channel} op!o@host 1700000000",
        f":{SERVER} 353 me = {channel} :{names}",
        f":{SERVER} 366 me {channel} :End of /NAMES list.",
    )
    assert len(out) == 1 and isinstance(out[0], RoomJoined), out
    return out[0]
