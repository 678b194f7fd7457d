"""XEP-0004 data forms generated from pydantic models, and submissions read back into them.

Plugins describe every form (registration, ad-hoc commands) as a pydantic model; this module
is the one place that knows how a model field looks in a data form and how a person's answer
becomes a typed, validated value, with errors that name the field and say what to type.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from slixmpp.plugins.xep_0004 import Form, FormField
from slixmpp.plugins.xep_0004.stanza import FieldOption
from slixmpp.plugins.xep_0122.stanza import FormValidation
from slixmpp.xmlstream import register_stanza_plugin

# What slixmpp's xep_0004 plugin would register; the component loads no slixmpp plugin
# (they would answer disco and commands for JIDs they cannot know), so it is done here.
register_stanza_plugin(FormField, FieldOption, iterable=True)
register_stanza_plugin(Form, FormField, iterable=True)
register_stanza_plugin(FormField, FormValidation)

FORM_NS = "jabber:x:data"
FORM_TYPE_VAR = "FORM_TYPE"
"""XEP-0068's hidden field naming the form's namespace: never a model field, never an error."""
KEEP_SECRET_HINT = "Leave empty to keep the stored one."

FieldKind = Literal[
    "text-single", "text-private", "text-multi", "boolean", "list-single", "list-multi"
]
_MULTI_KINDS = frozenset({"text-multi", "list-multi"})
_TRUE = frozenset({"1", "true"})
_OMIT = object()
_Model = TypeVar("_Model", bound=BaseModel)
_FALSE = frozenset({"0", "false"})


class FormInvalid(ValueError):
    """A submission that does not fit the model; every message names a field and a fix.

    ``errors`` maps field vars (``""`` for the form as a whole) to sentences;
    ``submitted`` is what the person typed, secrets left out, to show the form again.
    """

    def __init__(self, errors: Mapping[str, str], submitted: Mapping[str, object]) -> None:
        self.errors = dict(errors)
        self.submitted = dict(submitted)
        super().__init__("\n".join(self.errors.values()))


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    """How one model field appears in a form."""

    var: str
    attribute: str
    """The model's field name; *var* differs when the field has an alias (Biboumi's `pass`)."""
    label: str
    desc: str
    kind: FieldKind
    required: bool
    options: tuple[str, ...]
    number: type[int] | type[float] | None
    nullable: bool
    bounds: tuple[annotated_types.BaseMetadata, ...]

    @property
    def multi(self) -> bool:
        return self.kind in _MULTI_KINDS


def humanise(name: str) -> str:
    """``tls_ports`` → ``Tls ports``: a label for fields the plugin gave no title."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _strip_annotated(tp: Any) -> Any:
    return get_args(tp)[0] if get_origin(tp) is Annotated else tp


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    """The type inside ``X | None``, and whether None was allowed."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(tp)):
            return _strip_annotated(args[0]), True
    return tp, False


def _choices(tp: Any) -> tuple[str, ...] | None:
    """The option values of a Literal or Enum type, or None when it is neither."""
    if get_origin(tp) is Literal:
        return tuple(str(v.value if isinstance(v, enum.Enum) else v) for v in get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tuple(str(member.value) for member in tp)
    return None


def _kind_of(
    tp: Any, name: str
) -> tuple[FieldKind, tuple[str, ...], type[int] | type[float] | None]:
    if get_origin(tp) in (list, Sequence, tuple, set, frozenset):
        inner = _strip_annotated((get_args(tp) or (str,))[0])
        options = _choices(inner)
        return ("list-multi", options, None) if options else ("text-multi", (), None)
    options = _choices(tp)
    if options:
        return "list-single", options, None
    if tp is bool:
        return "boolean", (), None
    if tp is SecretStr:
        return "text-private", (), None
    if tp is int or tp is float:
        return "text-single", (), tp
    if tp is str:
        return "text-single", (), None
    raise TypeError(f"form field '{name}': no data-form field type for {tp!r}")


def _spec(name: str, info: FieldInfo) -> _FieldSpec:
    tp, nullable = _strip_optional(_strip_annotated(info.annotation))
    kind, options, number = _kind_of(tp, name)
    bounds = tuple(m for m in info.metadata if isinstance(m, annotated_types.BaseMetadata))
    return _FieldSpec(
        var=info.alias or name,
        attribute=name,
        label=info.title or humanise(name),
        desc=info.description or "",
        kind=kind,
        required=info.is_required(),
        options=options,
        number=number,
        nullable=nullable,
        bounds=bounds,
    )


NOT_IN_FORMS: Final[JsonDict] = {"not_in_forms": True}
"""`Field(json_schema_extra=NOT_IN_FORMS)`: a stored value users never see or type (a token)."""


def _specs(model: type[BaseModel]) -> dict[str, _FieldSpec]:
    return {
        info.alias or name: _spec(name, info)
        for name, info in model.model_fields.items()
        if info.json_schema_extra != NOT_IN_FORMS
    }


def _bound(spec: _FieldSpec, cls: type[annotated_types.BaseMetadata], attr: str) -> Any:
    return next((getattr(m, attr) for m in spec.bounds if isinstance(m, cls)), None)


def _expectation(spec: _FieldSpec) -> str:
    """What a valid answer looks like, in words: "a whole number between 1 and 65535"."""
    if spec.kind == "boolean":
        return "true or false"
    if spec.options:
        return "one of: " + ", ".join(f"'{o}'" for o in spec.options)
    noun = "a whole number" if spec.number is int else "a number"
    ge, le = _bound(spec, annotated_types.Ge, "ge"), _bound(spec, annotated_types.Le, "le")
    gt, lt = _bound(spec, annotated_types.Gt, "gt"), _bound(spec, annotated_types.Lt, "lt")
    if ge is not None and le is not None:
        return f"{noun} between {ge} and {le}"
    limits = [
        text
        for value, text in (
            (ge, f"at least {ge}"),
            (gt, f"greater than {gt}"),
            (le, f"at most {le}"),
            (lt, f"less than {lt}"),
        )
        if value is not None
    ]
    return f"{noun} {' and '.join(limits)}" if limits else noun


# --- model → form ------------------------------------------------------------------------


def _value_of(
    model: type[BaseModel], values: BaseModel | Mapping[str, object] | None, spec: _FieldSpec
) -> object:
    """The value to show: from *values* when it has one, else the model's default."""
    if isinstance(values, BaseModel):
        return getattr(values, spec.attribute, None)
    if values is not None and spec.var in values:
        return values[spec.var]
    info = model.model_fields[spec.attribute]
    return None if info.is_required() else info.get_default(call_default_factory=True)


def _form_text(value: object) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


def _form_value(spec: _FieldSpec, value: object) -> str | bool | list[str] | None:
    """A model (or submitted) value as slixmpp's FormField takes it."""
    if spec.multi:
        items = value if isinstance(value, list | tuple | set | frozenset) else [value]
        return [_form_text(item) for item in items if item is not None]
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    if spec.kind == "boolean":
        return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE
    return _form_text(value)


def _add_validation(field: FormField, spec: _FieldSpec) -> None:
    """XEP-0122 hints, so clients can check numbers before sending."""
    if spec.number is None:
        return
    field["validate"]["datatype"] = "xs:integer" if spec.number is int else "xs:decimal"
    low = _bound(spec, annotated_types.Ge, "ge")
    high = _bound(spec, annotated_types.Le, "le")
    if low is not None and high is not None:
        field["validate"].set_range(True, minimum=low, maximum=high)


def form_from_model(
    model: type[BaseModel],
    *,
    title: str,
    instructions: str = "",
    values: BaseModel | Mapping[str, object] | None = None,
    form_type: Literal["form", "result"] = "form",
) -> Form:
    """The data form for *model*, prefilled from *values* (else from the model's defaults).

    Secret fields are never prefilled; when *values* holds one, the field says that
    leaving it empty keeps it.
    """
    form = Form()
    form["type"] = form_type
    form["title"] = title
    if instructions:
        form["instructions"] = instructions
    for var, spec in _specs(model).items():
        current = _value_of(model, values, spec)
        desc = spec.desc
        if spec.kind == "text-private":
            if current is not None and _secret_text(current):
                desc = f"{desc} {KEEP_SECRET_HINT}".strip()
            current = None
        field = form.add_field(
            var=var,
            ftype=spec.kind,
            label=spec.label,
            desc=desc,
            required=spec.required,
        )
        prefilled = _form_value(spec, current)
        if prefilled is not None and prefilled != []:
            field["value"] = prefilled
        for option in spec.options:  # after the values, as XEP-0004's schema orders them
            field.add_option(label=option, value=option)
        _add_validation(field, spec)
    return form


def _secret_text(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


# --- form → model ------------------------------------------------------------------------


def read_submission(form: Form) -> dict[str, list[str]]:
    """Every field of a submitted form with its raw values, whatever types the client sent."""
    submitted: dict[str, list[str]] = {}
    for field_xml in form.xml.findall(f"{{{FORM_NS}}}field"):
        var = field_xml.get("var", "")
        values = [v.text or "" for v in field_xml.findall(f"{{{FORM_NS}}}value")]
        submitted.setdefault(var, []).extend(values)
    return submitted


def _raw_values(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["1" if value else "0"]
    if isinstance(value, list | tuple):
        return [_secret_text(v) for v in value]
    return [_secret_text(value)]


def _coerce(spec: _FieldSpec, raw: list[str]) -> object:
    """The value to validate, or ``_OMIT`` to let the model's default (or "required") apply."""
    if spec.multi:
        lines = [line for value in raw for line in value.splitlines()]
        return [line.strip() if spec.options else line for line in lines if line.strip()]
    text = raw[0] if raw else ""
    if spec.kind != "text-private":
        text = text.strip()
    if text == "":
        return None if spec.nullable and not spec.required else _OMIT
    if spec.kind == "boolean":
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    return text


def _describe_error(spec: _FieldSpec | None, error: ErrorDetails) -> str:
    """One sentence naming the field, what it takes, and what was typed (never a secret)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if spec is None:
        return message
    if error["type"] == "missing":
        return f"{spec.label}: required, but left empty"
    got = "" if spec.kind == "text-private" else f" (got {error['input']!r})"
    if spec.kind == "boolean" or spec.options or spec.number is not None:
        return f"{spec.label}: must be {_expectation(spec)}{got}"
    return f"{spec.label}: {message}{got}"


def model_from_form(
    model: type[_Model],
    form_or_values: Form | Mapping[str, object],
    *,
    keep_secrets_from: BaseModel | None = None,
) -> _Model:
    """Validate a submission against *model*; raise FormInvalid naming every bad field.

    An empty secret field keeps the value in *keep_secrets_from*, when given.
    """
    specs = _specs(model)
    raw = (
        read_submission(form_or_values)
        if isinstance(form_or_values, Form)
        else {var: _raw_values(value) for var, value in form_or_values.items()}
    )
    errors = {
        var: f"unknown field '{var}'" for var in raw if var not in specs and var != FORM_TYPE_VAR
    }
    data: dict[str, object] = {}
    for var, spec in specs.items():
        value = _coerce(spec, raw.get(var, []))
        empty = value is _OMIT or value is None
        if spec.kind == "text-private" and empty and keep_secrets_from is not None:
            value = getattr(keep_secrets_from, spec.attribute, None)
            value = _OMIT if value is None else value
        if value is not _OMIT:
            data[var] = value
    submitted = {
        var: raw[var] for var, spec in specs.items() if var in raw and spec.kind != "text-private"
    }
    try:
        result = model.model_validate(data)
    except ValidationError as invalid:
        for error in invalid.errors():
            var = str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(var, _describe_error(specs.get(var), error))
        raise FormInvalid(errors, submitted) from None
    if errors:
        raise FormInvalid(errors, submitted)
    return result
