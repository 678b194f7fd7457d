"""XEP-0115 entity capabilities: the verification string of an identity/feature set."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Identity:
    category: str
    type: str
    name: str = ""
    lang: str = ""


@dataclass(frozen=True, slots=True)
class DiscoInfo:
    """What disco#info answers for one JID (XEP-0030)."""

    identities: tuple[Identity, ...]
    features: tuple[str, ...]

    def caps_ver(self) -> str:
        """The XEP-0115 §5.1 `ver` (sha-1, no extended forms)."""
        text = "".join(
            f"{i.category}/{i.type}/{i.lang}/{i.name}<"
            for i in sorted(self.identities, key=lambda i: (i.category, i.type, i.lang, i.name))
        )
        text += "".join(f"{feature}<" for feature in sorted(set(self.features)))
        return base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()
