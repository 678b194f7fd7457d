"""The command line, as an operator runs it: a real process, a real config file."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from bridge.devservers import ComponentSpec, Prosody
from bridge.secrets import generate_key
from tests.conftest import XmppUserFactory
from tests.test_gateway_e2e import register
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_config(path: Path, prosody: Prosody, spec: ComponentSpec, database: Path) -> Path:
    path.write_text(
        f"""
[database]
url = "sqlite+aiosqlite:///{database}"

[logging]
level = "DEBUG"

[[gateway]]
domain = "{spec.domain}"
network = "tests.loopnet:create"
server_port = {prosody.component_port}
secret_env = "TEST_COMPONENT_SECRET"
"""
    )
    return path


def test_version_and_keygen() -> None:
    assert cli("version").stdout.startswith("xmpp-bridge ")
    key = cli("keygen").stdout.strip()
    assert len(key) == 44


def test_check_config_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[gateway]]\ndomain = "irc.example.org"\nnetwork = "irc"\nserver_port = 70000\n'
    )
    result = cli("check-config", "-c", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "server_port" in result.stderr


def test_check_config_reports_a_missing_plugin_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[gateway]]\ndomain = "x.example.org"\nnetwork = "nosuch"\nsecret = "s"\n')
    result = cli("check-config", "-c", str(config), env={"XMPP_BRIDGE_KEY": ""})
    assert result.returncode == 2
    assert "no network plugin named 'nosuch'" in result.stderr
    assert "xmpp-bridge keygen" in result.stderr


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[gateway]]\ndomain = "x.example.org"\nnetwork = "tests.loopnet:create"\nsecret = "s"\n'
    )
    result = cli("check-config", "-c", str(config), env={"XMPP_BRIDGE_KEY": generate_key()})
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


async def test_a_full_run_never_logs_a_secret_and_stops_cleanly_on_sigterm(
    prosody: Prosody, component: ComponentSpec, xmpp_user: XmppUserFactory, tmp_path: Path
) -> None:
    key = generate_key()
    config = write_config(tmp_path / "config.toml", prosody, component, tmp_path / "bridge.db")
    log_path = tmp_path / "bridge.log"
    with log_path.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridge.cli",
            "run",
            "-c",
            str(config),
            cwd=REPO,
            env={**os.environ, "XMPP_BRIDGE_KEY": key, "TEST_COMPONENT_SECRET": component.secret},
            stdout=log,
            stderr=log,
        )
        try:
            await wait_until(
                lambda: "connected to 127.0.0.1" in log_path.read_text(), 20, "never connected"
            )
            alice = await xmpp_user("alice")
            password = "very-secret-Pa55word"
            first = await register(alice, _Running(component.domain), password=password)
            assert first["type"] == "result"
            await wait_until(lambda: "logged in" in log_path.read_text(), 10, "no login")
            refused = await register(alice, _Running(component.domain), password="wrong")
            assert refused["type"] == "error"
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 20)
    text = log_path.read_text()
    assert code == 0, text[-2000:]
    assert "registered" in text and "DEBUG" in text, "the log was written at DEBUG"
    for secret in (password, component.secret, key):
        assert secret not in text


class _Running:
    """What `register` needs of a running gateway: its JID."""

    def __init__(self, jid: str) -> None:
        self.jid = jid
