"""Data forms from pydantic models: what a client shows, and what a submission becomes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal

import pytest
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from slixmpp.plugins.xep_0004 import Form
from slixmpp.xmlstream import ET

from bridge.forms import (
    KEEP_SECRET_HINT,
    NOT_IN_FORMS,
    FormInvalid,
    form_from_model,
    model_from_form,
)

NS = "jabber:x:data"


class Encoding(enum.Enum):
    UTF8 = "utf-8"
    LATIN1 = "latin-1"


class ServerSettings(BaseModel):
    nick: str = Field(title="Nickname", description="Shown to others on IRC")
    port: int = Field(6667, ge=1, le=65535, title="Port")
    password: SecretStr | None = Field(None, title="Server password")
    verify_cert: bool = True
    throttle: float = 1.5
    mode: Literal["fast", "slow"] = "slow"
    encoding: Encoding = Encoding.UTF8
    after_connect_commands: list[str] = []
    caps: list[Literal["sasl", "echo-message", "away-notify"]] = []
    realname: str | None = None

    @field_validator("nick")
    @classmethod
    def _no_spaces(cls, nick: str) -> str:
        if " " in nick:
            raise ValueError("a nick cannot contain spaces")
        return nick


def fields_of(form: Form) -> dict[str, ET.Element]:
    return {f.get("var", ""): f for f in form.xml.findall(f"{{{NS}}}field")}


def values_of(field: ET.Element) -> list[str]:
    return [v.text or "" for v in field.findall(f"{{{NS}}}value")]


def options_of(field: ET.Element) -> list[str]:
    return [o.findtext(f"{{{NS}}}value") or "" for o in field.findall(f"{{{NS}}}option")]


def client_submit(answers: Mapping[str, str | list[str]]) -> Form:
    """A submission as a client builds it: bare <field var><value/></field>, no types."""
    form = Form()
    form["type"] = "submit"
    for var, answer in answers.items():
        field = ET.SubElement(form.xml, f"{{{NS}}}field", {"var": var})
        for text in [answer] if isinstance(answer, str) else answer:
            ET.SubElement(field, f"{{{NS}}}value").text = text
    return form


def test_each_field_type_renders_with_label_desc_and_required() -> None:
    form = form_from_model(ServerSettings, title="Configure", instructions="Set it up")
    assert form["title"] == "Configure"
    assert form["instructions"] == "Set it up"
    fields = fields_of(form)
    assert list(fields) == list(ServerSettings.model_fields)
    types = {var: field.get("type") for var, field in fields.items()}
    assert types == {
        "nick": "text-single",
        "port": "text-single",
        "password": "text-private",
        "verify_cert": "boolean",
        "throttle": "text-single",
        "mode": "list-single",
        "encoding": "list-single",
        "after_connect_commands": "text-multi",
        "caps": "list-multi",
        "realname": "text-single",
    }
    assert fields["nick"].get("label") == "Nickname"
    assert fields["nick"].findtext(f"{{{NS}}}desc") == "Shown to others on IRC"
    assert fields["verify_cert"].get("label") == "Verify cert"
    required = {var for var, f in fields.items() if f.find(f"{{{NS}}}required") is not None}
    assert required == {"nick"}
    assert options_of(fields["mode"]) == ["fast", "slow"]
    assert options_of(fields["encoding"]) == ["utf-8", "latin-1"]
    assert options_of(fields["caps"]) == ["sasl", "echo-message", "away-notify"]


def test_numbers_carry_xep0122_datatype_and_range() -> None:
    port = fields_of(form_from_model(ServerSettings, title="t"))["port"]
    validate = port.find("{http://jabber.org/protocol/xdata-validate}validate")
    assert validate is not None
    assert validate.get("datatype") == "xs:integer"
    bounds = validate.find("{http://jabber.org/protocol/xdata-validate}range")
    assert bounds is not None
    assert (bounds.get("min"), bounds.get("max")) == ("1", "65535")


def test_form_opens_with_defaults_when_no_values_given() -> None:
    fields = fields_of(form_from_model(ServerSettings, title="t"))
    assert values_of(fields["port"]) == ["6667"]
    assert values_of(fields["verify_cert"]) == ["1"]
    assert values_of(fields["mode"]) == ["slow"]
    assert values_of(fields["encoding"]) == ["utf-8"]
    assert values_of(fields["nick"]) == []
    assert values_of(fields["after_connect_commands"]) == []


def test_form_prefills_from_a_model_instance() -> None:
    current = ServerSettings(
        nick="alice",
        port=6697,
        verify_cert=False,
        encoding=Encoding.LATIN1,
        after_connect_commands=["MODE alice +x", "JOIN #a"],
        caps=["sasl", "away-notify"],
    )
    fields = fields_of(form_from_model(ServerSettings, title="t", values=current))
    assert values_of(fields["nick"]) == ["alice"]
    assert values_of(fields["port"]) == ["6697"]
    assert values_of(fields["verify_cert"]) == ["0"]
    assert values_of(fields["encoding"]) == ["latin-1"]
    assert values_of(fields["after_connect_commands"]) == ["MODE alice +x", "JOIN #a"]
    assert values_of(fields["caps"]) == ["sasl", "away-notify"]


def test_stored_secret_is_never_sent_and_the_field_says_empty_keeps_it() -> None:
    current = ServerSettings(nick="alice", password=SecretStr("hunter2"))
    form = form_from_model(ServerSettings, title="t", values=current)
    assert "hunter2" not in str(form)
    password = fields_of(form)["password"]
    assert values_of(password) == []
    assert KEEP_SECRET_HINT in (password.findtext(f"{{{NS}}}desc") or "")
    without = fields_of(form_from_model(ServerSettings, title="t"))["password"]
    assert KEEP_SECRET_HINT not in (without.findtext(f"{{{NS}}}desc") or "")


def test_round_trip_every_field_type() -> None:
    submission = client_submit(
        {
            "FORM_TYPE": "urn:example:settings",
            "nick": "alice",
            "port": " 7000 ",
            "password": "s3cret",
            "verify_cert": "false",
            "throttle": "0.25",
            "mode": "fast",
            "encoding": "latin-1",
            "after_connect_commands": ["PRIVMSG NickServ :identify", "", "JOIN #x"],
            "caps": ["sasl", "echo-message"],
            "realname": "Alice Liddell",
        }
    )
    settings = model_from_form(ServerSettings, submission)
    assert settings.nick == "alice"
    assert settings.port == 7000
    assert settings.password is not None
    assert settings.password.get_secret_value() == "s3cret"
    assert settings.verify_cert is False
    assert settings.throttle == 0.25
    assert settings.mode == "fast"
    assert settings.encoding is Encoding.LATIN1
    assert settings.after_connect_commands == ["PRIVMSG NickServ :identify", "JOIN #x"]
    assert settings.caps == ["sasl", "echo-message"]
    assert settings.realname == "Alice Liddell"


def test_rendered_form_submitted_unchanged_gives_the_same_values() -> None:
    current = ServerSettings(nick="bob", port=6697, after_connect_commands=["a", "b"])
    form = form_from_model(ServerSettings, title="t", values=current)
    form.reply()  # what a client does: type=submit, same values
    assert model_from_form(ServerSettings, form) == current


@pytest.mark.parametrize(("text", "expected"), [("1", True), ("true", True), ("0", False)])
def test_booleans_accept_xep0004_spellings(text: str, expected: bool) -> None:
    settings = model_from_form(ServerSettings, client_submit({"nick": "a", "verify_cert": text}))
    assert settings.verify_cert is expected


def test_text_multi_accepts_one_value_with_newlines() -> None:
    settings = model_from_form(
        ServerSettings, client_submit({"nick": "a", "after_connect_commands": "one\r\ntwo\n"})
    )
    assert settings.after_connect_commands == ["one", "two"]


def test_empty_optional_field_becomes_none_and_empty_defaulted_field_keeps_default() -> None:
    settings = model_from_form(
        ServerSettings, client_submit({"nick": "a", "realname": "", "port": ""})
    )
    assert settings.realname is None
    assert settings.port == 6667


def test_missing_required_field_names_it() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(ServerSettings, client_submit({"port": "6667"}))
    assert caught.value.errors == {"nick": "Nickname: required, but left empty"}
    assert "Nickname" in str(caught.value)


def test_wrong_number_says_what_is_expected_and_what_was_typed() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(ServerSettings, client_submit({"nick": "a", "port": "abc"}))
    assert caught.value.errors == {
        "port": "Port: must be a whole number between 1 and 65535 (got 'abc')"
    }


def test_number_out_of_range_is_refused() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(ServerSettings, client_submit({"nick": "a", "port": "70000"}))
    assert caught.value.errors["port"].startswith("Port: must be a whole number between 1 and")


def test_bad_choices_list_the_valid_ones() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(
            ServerSettings,
            client_submit(
                {"nick": "a", "mode": "turbo", "encoding": "ebcdic", "caps": ["sasl", "x"]}
            ),
        )
    errors = caught.value.errors
    assert errors["mode"] == "Mode: must be one of: 'fast', 'slow' (got 'turbo')"
    assert errors["encoding"] == "Encoding: must be one of: 'utf-8', 'latin-1' (got 'ebcdic')"
    assert "'echo-message'" in errors["caps"]
    assert "(got 'x')" in errors["caps"]


def test_bad_boolean_is_refused() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(ServerSettings, client_submit({"nick": "a", "verify_cert": "maybe"}))
    assert caught.value.errors == {
        "verify_cert": "Verify cert: must be true or false (got 'maybe')"
    }


def test_plugin_validator_text_reaches_the_user() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(ServerSettings, client_submit({"nick": "al ice"}))
    assert caught.value.errors == {"nick": "Nickname: a nick cannot contain spaces (got 'al ice')"}


def test_unknown_field_is_reported_with_the_others() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(ServerSettings, client_submit({"nick": "a", "foo": "1", "port": "x"}))
    assert caught.value.errors["foo"] == "unknown field 'foo'"
    assert "port" in caught.value.errors
    assert "unknown field 'foo'" in str(caught.value)


def test_empty_secret_keeps_the_stored_one() -> None:
    stored = ServerSettings(nick="a", password=SecretStr("hunter2"))
    form = form_from_model(ServerSettings, title="t", values=stored)
    form.reply()
    settings = model_from_form(ServerSettings, form, keep_secrets_from=stored)
    assert settings.password == SecretStr("hunter2")
    replaced = model_from_form(
        ServerSettings, client_submit({"nick": "a", "password": "new"}), keep_secrets_from=stored
    )
    assert replaced.password == SecretStr("new")


def test_empty_secret_without_a_stored_one_is_empty() -> None:
    settings = model_from_form(ServerSettings, client_submit({"nick": "a", "password": ""}))
    assert settings.password is None


def test_errors_never_echo_a_secret_and_submitted_values_leave_it_out() -> None:
    class Account(BaseModel):
        username: str
        password: SecretStr = Field(min_length=8)

    with pytest.raises(FormInvalid) as caught:
        model_from_form(Account, {"username": "bob", "password": "short"})
    assert "short" not in str(caught.value)
    assert "password" in caught.value.errors
    assert "password" not in caught.value.submitted
    assert caught.value.submitted["username"] == ["bob"]


def test_submitted_values_refill_the_form_after_an_error() -> None:
    with pytest.raises(FormInvalid) as caught:
        model_from_form(ServerSettings, client_submit({"nick": "a", "port": "abc", "mode": "fast"}))
    again = fields_of(form_from_model(ServerSettings, title="t", values=caught.value.submitted))
    assert values_of(again["port"]) == ["abc"]
    assert values_of(again["mode"]) == ["fast"]
    assert values_of(again["nick"]) == ["a"]


def test_plain_mapping_submission_as_from_legacy_xep0077() -> None:
    class Account(BaseModel):
        username: str
        password: SecretStr

    account = model_from_form(Account, {"username": "bob", "password": "pw"})
    assert account.username == "bob"
    assert account.password.get_secret_value() == "pw"


def test_model_with_unsupported_field_type_is_refused_when_rendered() -> None:
    class Odd(BaseModel):
        when: dict[str, int]

    with pytest.raises(TypeError, match="'when'"):
        form_from_model(Odd, title="t")


def test_whole_form_rule_is_reported_under_the_empty_var() -> None:
    class Ports(BaseModel):
        plain: int = 0
        tls: int = 0

        @model_validator(mode="after")
        def _one_port_at_least(self) -> Ports:
            if not (self.plain or self.tls):
                raise ValueError("give a plain or a TLS port")
            return self

    with pytest.raises(FormInvalid) as caught:
        model_from_form(Ports, {"plain": "", "tls": ""})
    assert caught.value.errors == {"": "give a plain or a TLS port"}


def test_fields_kept_out_of_forms_are_neither_shown_nor_accepted() -> None:
    class Login(BaseModel):
        user: str
        token: SecretStr = Field(SecretStr(""), json_schema_extra=NOT_IN_FORMS)

    form = form_from_model(Login, title="Log in")
    assert set(form.get_fields()) == {"user"}
    with pytest.raises(FormInvalid, match="unknown field 'token'"):
        model_from_form(Login, {"user": "a", "token": "forged"})
    assert model_from_form(Login, {"user": "a"}).token.get_secret_value() == ""
