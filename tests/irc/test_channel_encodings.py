"""Per-channel encodings (Biboumi's channel `configure`): reading old channels, writing to them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.room_config import settings_model
from plugins.irc.encodings import ChannelEncoding, ChannelEncodings
from plugins.irc.protocol.message import cmd, parse_line, redecode
from plugins.irc.settings import ChannelSettings

HELLO_RU = "Привет"
CP1251_LINE = b":bob!b@h PRIVMSG #old :" + HELLO_RU.encode("cp1251")


def test_a_line_that_is_not_utf8_keeps_its_bytes_for_another_decoding() -> None:
    message = parse_line(CP1251_LINE)
    assert message.param(1) != HELLO_RU  # latin-1 made something else of it
    assert redecode(message, "cp1251").param(1) == HELLO_RU
    utf8 = parse_line(":bob!b@h PRIVMSG #old :Привет".encode())
    assert utf8.undecoded is None and redecode(utf8, "cp1251") is utf8


def test_the_channels_encoding_reads_its_text_and_no_other_channels() -> None:
    encodings = ChannelEncodings()
    encodings.use("#Old", ChannelEncoding(incoming="cp1251"))
    assert encodings.decode(parse_line(CP1251_LINE)).param(1) == HELLO_RU
    to_ops = CP1251_LINE.replace(b"#old", b"@#OLD")
    assert encodings.decode(parse_line(to_ops)).param(1) == HELLO_RU
    topic = b":irc.test 332 me #old :" + HELLO_RU.encode("cp1251")
    assert encodings.decode(parse_line(topic)).param(2) == HELLO_RU
    elsewhere = parse_line(CP1251_LINE.replace(b"#old", b"#new"))
    assert encodings.decode(elsewhere).param(1) == "Ïðèâåò"  # the server's fallback: latin-1


def test_utf8_wins_even_in_a_channel_with_its_own_encoding() -> None:
    encodings = ChannelEncodings()
    encodings.use("#old", ChannelEncoding(incoming="cp1251"))
    line = parse_line(":bob!b@h PRIVMSG #old :déjà vu".encode())
    assert encodings.decode(line).param(1) == "déjà vu"


def test_text_to_the_channel_leaves_in_its_outgoing_encoding() -> None:
    encodings = ChannelEncodings()
    encodings.use("#old", ChannelEncoding(outgoing="cp1251"))
    to_channel = cmd("PRIVMSG", "#OLD", HELLO_RU)
    assert encodings.encoding_out(to_channel) == "cp1251"
    assert encodings.encoding_out(cmd("PRIVMSG", "#new", "hi")) is None
    assert encodings.encoding_out(cmd("PRIVMSG", "bob", "hi")) is None
    encodings.use("#old", ChannelEncoding())  # both emptied: back to the server's
    assert encodings.encoding_out(to_channel) is None


def test_an_unknown_encoding_is_refused_in_the_rooms_configure_form_too() -> None:
    with pytest.raises(ValidationError, match="not an encoding"):
        ChannelSettings(encoding_in="klingon-8")
    merged = settings_model(ChannelSettings)  # what the core shows and validates
    assert {"persistent", "encoding_in", "encoding_out"} <= set(merged.model_fields)
    with pytest.raises(ValidationError, match="not an encoding"):
        merged.model_validate({"encoding_out": "klingon-8"})
    assert merged.model_validate({"encoding_in": "cp1251"}).model_dump()["encoding_in"] == "cp1251"
