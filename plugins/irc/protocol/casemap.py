"""IRC case-insensitivity: ``#Chan`` and ``#chan`` are one channel, ``[Bob]`` and ``{bob}`` too.

Which characters are equal depends on the server's CASEMAPPING; using Python's
``str.lower`` would both miss ``[]``/``{}`` and wrongly fold non-ASCII letters.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, MutableMapping
from typing import TypeVar

_ASCII = dict(zip(string.ascii_uppercase, string.ascii_lowercase, strict=True))
_TABLES = {
    "ascii": str.maketrans(_ASCII),
    "strict-rfc1459": str.maketrans({**_ASCII, "[": "{", "]": "}", "\\": "|"}),
    "rfc1459": str.maketrans({**_ASCII, "[": "{", "]": "}", "\\": "|", "~": "^"}),
}

V = TypeVar("V")


def fold(text: str, casemapping: str) -> str:
    """The canonical (lower-case) form of a nick or channel name under ``casemapping``."""
    try:
        table = _TABLES[casemapping]
    except KeyError:
        raise ValueError(
            f"unknown casemapping {casemapping!r}, expected one of {', '.join(_TABLES)}"
        ) from None
    return text.translate(table)


def same(a: str, b: str, casemapping: str) -> bool:
    """Whether two names denote the same nick or channel."""
    return fold(a, casemapping) == fold(b, casemapping)


class FoldedDict(MutableMapping[str, V]):
    """A mapping keyed case-insensitively that remembers how each name was last written.

    Iterating yields the spellings, so ``#Chan`` is shown to users as the server wrote it.
    """

    def __init__(self, casemapping: str) -> None:
        fold("", casemapping)  # an unknown casemapping fails here, not on first use
        self.casemapping = casemapping
        self._items: dict[str, tuple[str, V]] = {}

    def spelling(self, name: str) -> str:
        """How ``name`` was written when last stored."""
        return self._items[fold(name, self.casemapping)][0]

    def __getitem__(self, name: str) -> V:
        return self._items[fold(name, self.casemapping)][1]

    def __setitem__(self, name: str, value: V) -> None:
        self._items[fold(name, self.casemapping)] = (name, value)

    def __delitem__(self, name: str) -> None:
        del self._items[fold(name, self.casemapping)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and fold(name, self.casemapping) in self._items

    def __iter__(self) -> Iterator[str]:
        return (spelling for spelling, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        items = ", ".join(f"{name!r}: {value!r}" for name, value in self._items.values())
        return f"FoldedDict({self.casemapping!r}, {{{items}}})"
