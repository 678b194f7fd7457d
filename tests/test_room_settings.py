"""A network's own per-room fields join the core's in one form, one stored model."""

from pydantic import BaseModel, Field

from bridge.forms import form_from_model, model_from_form
from bridge.room_config import RoomSettings, settings_model


class Encodings(BaseModel):
    encoding_in: str = Field("", title="Incoming encoding")


def test_the_core_model_stands_alone_without_extra_fields() -> None:
    assert settings_model(None) is RoomSettings


def test_extra_fields_sit_beside_the_core_ones_and_round_trip() -> None:
    model = settings_model(Encodings)
    form = form_from_model(model, title="t")
    assert {"persistent", "record_history", "encoding_in"} <= set(form.get_fields())
    parsed = model_from_form(model, {"persistent": "1", "encoding_in": "latin-1"})
    assert isinstance(parsed, RoomSettings) and parsed.persistent
    assert Encodings.model_validate(parsed.model_dump()).encoding_in == "latin-1"
