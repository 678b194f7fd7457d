"""Network plugins by name: the installed ones are searched for once per process."""

import importlib.metadata
from collections.abc import Iterator
from typing import Any

import pytest

from bridge import loader
from bridge.loader import PluginError, find_factory, installed_networks


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The entry-point searches made while the test runs, on a fresh cache."""
    made: list[dict[str, Any]] = []

    def counted(**selection: Any) -> Any:
        made.append(selection)
        return importlib.metadata.entry_points(**selection)

    monkeypatch.setattr("bridge.loader.entry_points", counted)
    loader._installed.cache_clear()
    yield made
    loader._installed.cache_clear()


def test_networks_are_found_with_one_search(searches: list[dict[str, Any]]) -> None:
    find_factory("irc")
    find_factory("matrix")
    find_factory("irc")

    assert {"irc", "matrix"} <= set(installed_networks())
    assert len(searches) == 1


def test_an_unknown_network_names_the_installed_ones(searches: list[dict[str, Any]]) -> None:
    with pytest.raises(PluginError, match=r"no network plugin named 'nosuch'.*irc, matrix"):
        find_factory("nosuch")
