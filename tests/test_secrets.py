"""Secrets sealed with the configured key: readable with it, refused with any other."""

import pytest
from pydantic import SecretStr

from bridge.config import SecretsConfig
from bridge.secrets import SecretBox, SecretKeyError, generate_key, load_key

SECRETS = {"password": "hunter2-très-secret", "sasl_password": "s3same"}


def test_sealed_secrets_open_with_the_same_key_and_hide_the_plaintext() -> None:
    key = generate_key()
    blob = SecretBox(key).encrypt(SECRETS)

    assert b"hunter2" not in blob and b"s3same" not in blob
    assert SecretBox(key).decrypt(blob) == SECRETS


def test_sealing_twice_gives_different_blobs() -> None:
    box = SecretBox(generate_key())

    assert box.encrypt(SECRETS) != box.encrypt(SECRETS)


def test_another_key_is_refused_with_a_clear_error() -> None:
    blob = SecretBox(generate_key()).encrypt(SECRETS)

    with pytest.raises(SecretKeyError, match="encrypted with another key"):
        SecretBox(generate_key()).decrypt(blob)


@pytest.mark.parametrize("key", ["", "short", "x" * 44])
def test_a_malformed_key_says_how_to_make_one(key: str) -> None:
    with pytest.raises(SecretKeyError, match="xmpp-bridge keygen"):
        SecretBox(key)


def test_the_key_is_never_shown() -> None:
    key = generate_key()

    assert key not in repr(SecretBox(key))


def test_key_from_the_config_file_wins_over_the_environment() -> None:
    file_key, env_key = generate_key(), generate_key()
    blob = SecretBox(file_key).encrypt(SECRETS)

    box = load_key(SecretsConfig(key=SecretStr(file_key)), {"XMPP_BRIDGE_KEY": env_key})

    assert box.decrypt(blob) == SECRETS


def test_key_from_the_named_environment_variable() -> None:
    key = generate_key()
    blob = SecretBox(key).encrypt(SECRETS)

    box = load_key(SecretsConfig(key_env="BRIDGE_KEY"), {"BRIDGE_KEY": key})

    assert box.decrypt(blob) == SECRETS


def test_missing_key_names_the_variable_and_the_keygen_command() -> None:
    with pytest.raises(SecretKeyError, match=r"BRIDGE_KEY.*xmpp-bridge keygen"):
        load_key(SecretsConfig(key_env="BRIDGE_KEY"), {})
