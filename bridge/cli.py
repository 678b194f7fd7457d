"""`xmpp-bridge run|check-config|db upgrade|keygen|demo|version`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bridge import __version__
from bridge.config import Config, ConfigError, load_config
from bridge.loader import PluginError, find_factory
from bridge.logsetup import configure_logging
from bridge.secrets import SecretKeyError, generate_key, load_key


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xmpp-bridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("run", "run every gateway of the configuration"),
        ("check-config", "validate the configuration and say exactly what is wrong"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("-c", "--config", type=Path, default=Path("config.toml"))
    database = commands.add_parser("db", help="database maintenance")
    database.add_argument("action", choices=["upgrade"])
    database.add_argument("-c", "--config", type=Path, default=Path("config.toml"))
    commands.add_parser("keygen", help="print a new key for [secrets] key")
    commands.add_parser("version", help="print the version")
    demo = commands.add_parser("demo", help="start a throw-away Prosody + ngircd with the gateway")
    demo.add_argument("--no-irc", action="store_true", help="do not start ngircd")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"xmpp-bridge {__version__}")
        return 0
    if args.command == "keygen":
        print(generate_key())
        return 0
    if args.command == "demo":
        from bridge.demo import run_demo

        return asyncio.run(run_demo(irc=not args.no_irc))
    if args.command == "run":
        _without_pygments()
    try:
        config = _checked(args.config)
    except ConfigError as error:
        print(f"configuration is not usable:\n{error}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"{args.config}: OK ({len(config.gateway)} gateway(s))")
        return 0
    configure_logging(config.logging.level)
    if args.command == "db":
        from bridge.store.migrate import upgrade

        asyncio.run(upgrade(config.database.url))
        print("database is at the latest schema")
        return 0
    from bridge.app import Bridge

    asyncio.run(Bridge(config, os.environ, args.config).run_until_stopped())
    return 0


def _without_pygments() -> None:
    """Make `import pygments` fail here, as on an install without it.

    slixmpp imports pygments whenever it is installed (pytest brings it to developers'
    machines, Debian's python3-pygments to many others) to colour XML for a debug helper the
    gateway never calls: 44 modules and ~3 MB in a process that runs for months.
    """
    sys.modules.setdefault("pygments", None)  # type: ignore[arg-type]


def _checked(path: Path) -> Config:
    """Load the file, then check what the file alone cannot say: plugins and the key."""
    config = load_config(path)
    problems: list[str] = []
    for index, gateway in enumerate(config.gateway, start=1):
        try:
            find_factory(gateway.network)
        except PluginError as error:
            problems.append(f"[[gateway]] #{index} (domain {gateway.domain!r}) → network: {error}")
    try:
        load_key(config.secrets, os.environ)
    except SecretKeyError as error:
        problems.append(f"[secrets]: {error}")
    if problems:
        raise ConfigError(path, problems)
    return config


if __name__ == "__main__":
    sys.exit(main())
