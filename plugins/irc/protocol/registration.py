"""Connection registration as a state machine without I/O: messages in, messages out.

Order on the wire: WEBIRC (if any), ``CAP LS 302``, PASS, NICK, USER; then the wanted
capabilities the server offers are requested, SASL runs if configured, and ``CAP END``
lets the server finish. Servers without CAP (421 for it, or 001 straight away) work too.

A failure the user must fix (a wrong password, SASL refused, every nick variant taken,
a ban) ends the machine with :attr:`Registration.failure`, a text saying what to change,
and :attr:`Registration.error`, the domain error to raise. Feed every message up to the
end of the MOTD: 005 lines after 001 still fill :attr:`Registration.features`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from bridge.errors import (
    AuthFailed,
    Forbidden,
    LegacyError,
    NickInUse,
    NotConnected,
    NotSupported,
)
from bridge.logsetup import register_secret
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, cmd
from plugins.irc.protocol.sasl import SASL_NUMERICS, Sasl, authenticate_lines, failure_text
from plugins.irc.protocol.webirc import WebIrc

MAX_NICK_ATTEMPTS: Final = 10
"""How many underscored variants of the nick are tried before giving up."""

CAP_REQ_BYTES: Final = 400
"""Capabilities per REQ line stay well under the 512-byte line limit."""

NICK_ERRORS: Final = frozenset({"432", "433", "436"})
Handler = Callable[[IrcMessage], list[IrcMessage]]


def _cap_list(text: str) -> dict[str, str]:
    """``sasl=PLAIN,EXTERNAL multi-prefix`` → ``{"sasl": "PLAIN,EXTERNAL", "multi-prefix": ""}``."""
    caps: dict[str, str] = {}
    for item in text.split():
        name, _, value = item.partition("=")
        caps[name] = value
    return caps


def _req_lines(caps: Iterable[str]) -> list[IrcMessage]:
    """CAP REQ lines; each is accepted or refused whole, so one line is tried when it fits."""
    lines: list[list[str]] = [[]]
    for cap in sorted(caps):
        if lines[-1] and len(" ".join([*lines[-1], cap])) > CAP_REQ_BYTES:
            lines.append([])
        lines[-1].append(cap)
    return [cmd("CAP", "REQ", " ".join(names)) for names in lines if names]


class Registration:
    """Registers one IRC connection: CAP negotiation, SASL, nick collisions, failures."""

    def __init__(
        self,
        nick: str,
        username: str,
        realname: str,
        password: str | None = None,
        sasl: Sasl | None = None,
        webirc: WebIrc | None = None,
        wanted_caps: frozenset[str] = frozenset(),
    ) -> None:
        for name, value in (("nick", nick), ("username", username)):
            if not value or any(char in value for char in " :\r\n\0"):
                raise ValueError(f"IRC {name} must be one word, found {value!r}")
        if password:
            register_secret(password)
        self._base_nick = nick
        self._username = username
        self._realname = realname or nick
        self._password = password
        self._sasl = sasl
        self._webirc = webirc
        # sasl is requested exactly when there are credentials to use it with.
        self._wanted = (wanted_caps | {"sasl"}) if sasl is not None else (wanted_caps - {"sasl"})
        self._nick_attempts = 0
        self._offered: dict[str, str] = {}
        self._caps_requested = False
        self._unanswered_reqs = 0
        self._cap_ended = False
        self.nick = nick
        self.done = False
        self.failure: str | None = None
        self.error: LegacyError | None = None
        self.enabled_caps: frozenset[str] = frozenset()
        self.account: str | None = None
        self.features = ServerFeatures()
        self._handlers: dict[str, Handler] = {
            "CAP": self._on_cap,
            "AUTHENTICATE": self._on_authenticate,
            "900": self._on_logged_in,
            "001": self._on_welcome,
            "421": self._on_unknown_command,
            "PING": lambda message: [cmd("PONG", *message.params)],
            "464": lambda message: self._fail(
                AuthFailed,
                f"the server refused the password: check the server password (PASS)"
                f" (server said: {message.param(-1)})",
            ),
            "465": lambda message: self._fail(
                Forbidden, f"banned from this server: {message.param(-1)}"
            ),
            "ERROR": self._on_error,
        }

    def __repr__(self) -> str:
        state = "done" if self.done else "failed" if self.failure else "registering"
        return f"<Registration nick={self.nick!r} {state} caps={sorted(self.enabled_caps)}>"

    def start(self) -> list[IrcMessage]:
        """The opening lines, in the order servers expect them."""
        lines = [self._webirc.message()] if self._webirc is not None else []
        lines.append(cmd("CAP", "LS", "302"))
        if self._password:
            lines.append(cmd("PASS", self._password))
        lines.append(cmd("NICK", self.nick))
        lines.append(cmd("USER", self._username, "0", "*", self._realname))
        return lines

    def receive(self, message: IrcMessage) -> list[IrcMessage]:
        """Take one message from the server; return the lines to send in answer."""
        if message.command == "005":
            self.features = self.features.with_tokens(message.params[1:-1])
            return []
        if self.done or self.failure is not None:
            return []
        if message.command in NICK_ERRORS:
            return self._on_nick_error(message)
        if message.command in SASL_NUMERICS:
            return self._on_sasl_result(message)
        handler = self._handlers.get(message.command)
        return handler(message) if handler is not None else []

    def _fail(self, kind: type[LegacyError], text: str, *, leave: bool = True) -> list[IrcMessage]:
        """Stop with *text*; say goodbye unless the server is already closing the link."""
        self.failure = text
        self.error = kind(text)
        return [cmd("QUIT", "registration failed")] if leave else []

    def _end_cap(self) -> list[IrcMessage]:
        if self._cap_ended:
            return []
        self._cap_ended = True
        return [cmd("CAP", "END")]

    def _on_cap(self, message: IrcMessage) -> list[IrcMessage]:
        subcommand = message.param(1).upper()
        continued = len(message.params) >= 4 and message.param(2) == "*"
        caps = _cap_list(message.param(-1))
        if subcommand == "LS":
            self._offered.update(caps)
            return [] if continued else self._request_caps()
        if subcommand in ("ACK", "NAK"):
            if subcommand == "ACK":
                enabled = {name for name in caps if not name.startswith("-")}
                disabled = {name[1:] for name in caps if name.startswith("-")}
                self.enabled_caps = (self.enabled_caps | enabled) - disabled
            if continued or self._unanswered_reqs == 0:
                return []
            self._unanswered_reqs -= 1
            return self._after_caps() if self._unanswered_reqs == 0 else []
        return []

    def _request_caps(self) -> list[IrcMessage]:
        if self._caps_requested:
            return []  # a second LS changes nothing during registration
        self._caps_requested = True
        if self._sasl is not None:
            problem = self._sasl_unavailable()
            if problem is not None:
                return self._fail(NotSupported, problem)
        requests = _req_lines(self._wanted & self._offered.keys())
        self._unanswered_reqs = len(requests)
        return requests or self._end_cap()

    def _sasl_unavailable(self) -> str | None:
        assert self._sasl is not None
        if "sasl" not in self._offered:
            return (
                "SASL is configured but this server does not offer it: remove the SASL"
                " password or connect to a server of the network that supports SASL"
            )
        mechanisms = self._offered["sasl"]
        if mechanisms and self._sasl.mechanism not in mechanisms.upper().split(","):
            return (
                f"SASL authentication failed: the server does not accept SASL"
                f" {self._sasl.mechanism}; it offers {mechanisms}"
            )
        return None

    def _after_caps(self) -> list[IrcMessage]:
        if self._sasl is None:
            return self._end_cap()
        if "sasl" not in self.enabled_caps:
            return self._fail(NotSupported, "the server refused the sasl capability")
        return [cmd("AUTHENTICATE", self._sasl.mechanism)]

    def _on_authenticate(self, message: IrcMessage) -> list[IrcMessage]:
        if self._sasl is None or message.param(0) != "+":
            return []
        return authenticate_lines(self._sasl.payload())

    def _on_logged_in(self, message: IrcMessage) -> list[IrcMessage]:
        self.account = message.param(2) or None
        return []

    def _on_sasl_result(self, message: IrcMessage) -> list[IrcMessage]:
        if message.command == "903":
            return self._end_cap()
        if self._sasl is None:
            return []
        server_text = message.param(1) if message.command == "908" else message.param(-1)
        return self._fail(AuthFailed, failure_text(message.command, self._sasl, server_text))

    def _on_nick_error(self, message: IrcMessage) -> list[IrcMessage]:
        self._nick_attempts += 1
        candidate = self._base_nick + "_" * self._nick_attempts
        announced = "NICKLEN" in self.features.tokens
        too_long = announced and len(candidate) > self.features.nicklen
        if self._nick_attempts > MAX_NICK_ATTEMPTS or too_long:
            return self._fail(
                NickInUse,
                f"the nick {self._base_nick} and its variants with underscores are taken or"
                f" refused: choose another nick (server said: {message.param(-1)})",
            )
        self.nick = candidate
        return [cmd("NICK", candidate)]

    def _on_welcome(self, message: IrcMessage) -> list[IrcMessage]:
        if self._sasl is not None and "sasl" not in self.enabled_caps:
            return self._fail(
                NotSupported,
                "SASL is configured but the server registered us without it: remove the"
                " SASL password or connect to a server of the network that supports SASL",
            )
        self.done = True
        self.nick = message.param(0, self.nick)
        return []

    def _on_unknown_command(self, message: IrcMessage) -> list[IrcMessage]:
        if message.param(1).upper() != "CAP":
            return []
        self._cap_ended = True  # a server without CAP registers us on NICK and USER alone
        if self._sasl is not None:
            return self._fail(
                NotSupported,
                "SASL is configured but this server does not support capabilities (CAP):"
                " remove the SASL password",
            )
        return []

    def _on_error(self, message: IrcMessage) -> list[IrcMessage]:
        return self._fail(
            NotConnected, f"the server closed the link: {message.param(-1)}", leave=False
        )
