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
class InfoForm:
    """A XEP-0128 extension form of disco#info (a room's muc#roominfo): its FORM_TYPE and
    its text-multi fields, var → values."""

    form_type: str
    fields: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class DiscoInfo:
    """What disco#info answers for one JID (XEP-0030)."""

    identities: tuple[Identity, ...]
    features: tuple[str, ...]
    forms: tuple[InfoForm, ...] = ()

    def caps_ver(self) -> str:
        """The XEP-0115 §5.1 `ver` (sha-1), extended forms included."""
        text = "".join(
            f"{i.category}/{i.type}/{i.lang}/{i.name}<"
            for i in sorted(self.identities, key=lambda i: (i.category, i.type, i.lang, i.name))
        )
        text += "".join(f"{feature}<" for feature in sorted(set(self.features)))
        for form in sorted(self.forms, key=lambda f: f.form_type):
            text += f"{form.form_type}<"
            for var, values in sorted(form.fields):
                text += f"{var}<" + "".join(f"{value}<" for value in sorted(values))
        return base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()
