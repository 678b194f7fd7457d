"""CTCP: requests and replies hidden in PRIVMSG and NOTICE bodies between \\x01 bytes.

Only what a bridge needs: ACTION (XMPP's ``/me``), and answers to VERSION and PING.
"""

from __future__ import annotations

from dataclasses import dataclass

DELIMITER = "\x01"
ME_PREFIX = "/me "  # XEP-0245


@dataclass(frozen=True, slots=True)
class Ctcp:
    """A CTCP request or reply; ``command`` is upper case."""

    command: str
    argument: str = ""

    def to_body(self) -> str:
        """The PRIVMSG (request) or NOTICE (reply) text carrying this CTCP."""
        argument = self.argument.replace(DELIMITER, "")
        inner = f"{self.command} {argument}" if argument else self.command
        return f"{DELIMITER}{inner}{DELIMITER}"


def parse_ctcp(body: str) -> Ctcp | None:
    """The CTCP in a message body, or None for an ordinary message.

    Clients that forget the closing \\x01 are common enough to be accepted.
    """
    if not body.startswith(DELIMITER):
        return None
    inner = body[1:].removesuffix(DELIMITER)
    command, _, argument = inner.partition(" ")
    if not command or DELIMITER in command:
        return None
    return Ctcp(command.upper(), argument)


def action(text: str) -> str:
    """The PRIVMSG body of ``/me text``."""
    return Ctcp("ACTION", text).to_body()


def version_reply(version: str) -> str:
    """The NOTICE body answering a VERSION request."""
    return Ctcp("VERSION", version).to_body()


def ping_reply(request: Ctcp) -> str:
    """The NOTICE body answering a PING request: its argument echoed back."""
    return Ctcp("PING", request.argument).to_body()


def me_text(body: str) -> str | None:
    """What an XMPP ``/me`` message does, or None when it is not one.

    The text is returned rather than wrapped so it can be split first, each piece then
    sent as an :func:`action`.
    """
    return body.removeprefix(ME_PREFIX) if body.startswith(ME_PREFIX) else None


def action_to_me(ctcp: Ctcp) -> str:
    """The XMPP body of an IRC ACTION."""
    return ME_PREFIX + ctcp.argument
