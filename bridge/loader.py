"""Find network plugins: installed entry points, or `module:callable` for one under development."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from bridge.network import ENTRY_POINT_GROUP, Network, NetworkFactory


class PluginError(Exception):
    """A network that cannot be loaded; the text says which and why."""


@functools.cache
def _installed() -> Mapping[str, EntryPoint]:
    """The networks' entry points by name, searched once: each search reads the metadata of
    every installed package (~10 ms), and start-up asks for every configured network twice."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)
    return found


def installed_networks() -> list[str]:
    return sorted(_installed())


def find_factory(name: str) -> NetworkFactory:
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise PluginError(f"network '{name}': cannot import {module_name}: {error}") from error
        factory = getattr(module, attribute, None)
        if factory is None:
            raise PluginError(f"network '{name}': {module_name} has no '{attribute}'")
        return cast(NetworkFactory, factory)
    entry = _installed().get(name)
    if entry is not None:
        try:
            return cast(NetworkFactory, entry.load())
        except ImportError as error:
            raise PluginError(
                f"network '{name}' is installed but its dependencies are missing: {error} "
                f"(try `pip install 'xmpp-bridge[{name}]'`)"
            ) from error
    known = ", ".join(installed_networks()) or "none"
    raise PluginError(f"no network plugin named '{name}' is installed (installed: {known})")


def load_network(name: str, options: Mapping[str, Any]) -> Network:
    factory = find_factory(name)
    try:
        return factory(options)
    except (TypeError, ValueError) as error:
        raise PluginError(f"network '{name}' refused its [gateway.options]: {error}") from error
