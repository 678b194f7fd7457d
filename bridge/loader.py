"""Find network plugins: installed entry points, or `module:callable` for one under development."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, cast

from bridge.network import ENTRY_POINT_GROUP, Network, NetworkFactory


class PluginError(Exception):
    """A network that cannot be loaded; the text says which and why."""


def installed_networks() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


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
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
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
