"""A scripted IRCv3 server that offers one SASL mechanism: ngircd has no SASL at all."""

from __future__ import annotations

import asyncio
import ssl

from tests.irc.loopback import port_of


class ScriptedSaslServer:
    """Offers ``sasl=<mechanism>`` and logs in only the client whose AUTHENTICATE payload is
    *accepted*; keeps every line it read and, on TLS, the client's certificate."""

    def __init__(
        self, mechanism: str, accepted: str, context: ssl.SSLContext | None = None
    ) -> None:
        self.mechanism = mechanism
        self.accepted = accepted
        self.context = context
        self.peer_certificate: bytes | None = None
        self.lines: list[str] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return port_of(self._server)

    async def __aenter__(self) -> ScriptedSaslServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    def _answers(self, text: str) -> list[str]:
        if text.startswith("AUTHENTICATE ") and text != f"AUTHENTICATE {self.mechanism}":
            if text == f"AUTHENTICATE {self.accepted}":
                return ["900 alice alice!a@h alice :Logged in", "903 alice :SASL ok"]
            return ["904 alice :SASL authentication failed"]
        return {
            "CAP LS 302": [f"CAP * LS :sasl={self.mechanism}"],
            "CAP REQ :sasl": ["CAP * ACK :sasl"],
            "CAP REQ sasl": ["CAP * ACK :sasl"],
            f"AUTHENTICATE {self.mechanism}": ["AUTHENTICATE +"],
            "CAP END": ["001 alice :Welcome", "376 alice :End of MOTD"],
        }.get(text, [])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.context is not None:
            self.peer_certificate = writer.get_extra_info("ssl_object").getpeercert(True)
        while line := await reader.readline():
            text = line.decode().strip()
            self.lines.append(text)
            for answer in self._answers(text):
                writer.write(f":sasl.test {answer}\r\n".encode())
            if text.startswith("QUIT"):
                writer.close()
                return
