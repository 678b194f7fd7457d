"""The configuration file: what loads, and what an operator reads when it does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from bridge.config import Config, ConfigError, load_config, parse_config
from bridge.logsetup import REDACTOR

REPO = Path(__file__).resolve().parent.parent
WHERE = Path("/etc/xmpp-bridge/config.toml")
ENV = {"IRC_SECRET": "from-the-environment"}

GATEWAY = """
[[gateway]]
domain = "irc.example.org"
network = "irc"
secret = "s3cret-component"
"""


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, WHERE, ENV if environ is None else environ)
    assert all(line.startswith(f"{WHERE}: ") for line in str(caught.value).splitlines())
    return caught.value.problems


def test_minimal_file_takes_defaults() -> None:
    config = parse_config(GATEWAY, WHERE, ENV)
    gateway = config.gateway[0]
    assert (gateway.domain, gateway.network, gateway.server_port) == (
        "irc.example.org",
        "irc",
        5347,
    )
    assert config.database.url == "sqlite+aiosqlite:///xmpp-bridge.db"
    assert gateway.component_secret(ENV) == "s3cret-component"


def test_secret_never_printed_by_the_model() -> None:
    gateway = parse_config(GATEWAY, WHERE, ENV).gateway[0]
    assert "s3cret-component" not in repr(gateway)
    assert "s3cret-component" not in str(gateway.model_dump())


def test_wrong_type_names_the_gateway_key_expected_and_found() -> None:
    [problem] = problems_of(GATEWAY + 'server_port = "5347"\n')
    assert problem == (
        '[[gateway]] #1 (domain "irc.example.org") → server_port: '
        'expected a valid integer, found "5347"'
    )


def test_out_of_range_value() -> None:
    [problem] = problems_of(GATEWAY + "server_port = 70000\n")
    assert "server_port" in problem and "65535" in problem and "70000" in problem


def test_unknown_key_gives_its_path_and_a_suggestion() -> None:
    [problem] = problems_of(GATEWAY + "[gateway.limits]\nsesions = 5\n")
    assert problem.startswith('[[gateway]] #1 (domain "irc.example.org") → limits.sesions: ')
    assert 'did you mean "sessions"' in problem


def test_unknown_top_level_table() -> None:
    [problem] = problems_of(GATEWAY + "[databse]\nurl = 'x'\n")
    assert problem.startswith("databse: unknown key")
    assert 'did you mean "database"' in problem


def test_every_problem_is_reported_at_once() -> None:
    text = (
        '[logging]\nlevel = "LOUD"\n'
        + GATEWAY
        + "server_port = 0\n"
        + '[[gateway]]\ndomain = "matrix.example.org"\nnetwork = "matrix"\nsecret = 7\n'
    )
    problems = problems_of(text)
    assert len(problems) == 3
    assert problems[0].startswith("logging.level: expected one of DEBUG")
    assert problems[1].startswith('[[gateway]] #1 (domain "irc.example.org") → server_port')
    assert problems[2].startswith('[[gateway]] #2 (domain "matrix.example.org") → secret')


def test_wrong_typed_secret_is_not_echoed() -> None:
    [problem] = problems_of(GATEWAY.replace('"s3cret-component"', "123456789"))
    assert "123456789" not in problem
    assert problem.endswith("found an integer")


def test_missing_gateway() -> None:
    assert problems_of('[logging]\nlevel = "INFO"\n') == [
        "no [[gateway]] table: add at least one, with domain, network and secret"
    ]


def test_single_bracket_gateway_table_is_explained() -> None:
    assert problems_of(GATEWAY.replace("[[gateway]]", "[gateway]")) == [
        "gateway: write each gateway as a [[gateway]] table (double brackets), not [gateway]"
    ]


def test_database_url_without_scheme_is_not_echoed() -> None:
    [problem] = problems_of('[database]\nurl = "bridge:hunter2@db.internal/bridge"\n' + GATEWAY)
    assert problem.endswith("found no scheme")


def test_missing_required_key() -> None:
    [problem] = problems_of('[[gateway]]\ndomain = "irc.example.org"\nsecret = "x"\n')
    assert problem == '[[gateway]] #1 (domain "irc.example.org") → network: required key is missing'


def test_duplicate_domain_even_with_other_case() -> None:
    [problem] = problems_of(GATEWAY + GATEWAY.replace("irc.example.org", "IRC.Example.org."))
    assert problem == (
        '[[gateway]] #1 and #2 both use domain "irc.example.org"; each gateway needs its own domain'
    )


def test_missing_secret() -> None:
    [problem] = problems_of('[[gateway]]\ndomain = "irc.example.org"\nnetwork = "irc"\n')
    assert problem.startswith('[[gateway]] #1 (domain "irc.example.org"): no component secret')


def test_secret_from_the_environment() -> None:
    text = '[[gateway]]\ndomain = "irc.example.org"\nnetwork = "irc"\nsecret_env = "IRC_SECRET"\n'
    gateway = parse_config(text, WHERE, ENV).gateway[0]
    assert gateway.component_secret(ENV) == "from-the-environment"
    assert REDACTOR.redact("from-the-environment") == "***"


def test_secret_env_that_is_not_set() -> None:
    text = '[[gateway]]\ndomain = "irc.example.org"\nnetwork = "irc"\nsecret_env = "IRC_SECRET"\n'
    [problem] = problems_of(text, environ={})
    assert problem == (
        '[[gateway]] #1 (domain "irc.example.org"): '
        "the environment variable IRC_SECRET (secret_env) is not set or empty"
    )


def test_toml_syntax_error_gives_line_and_column() -> None:
    [problem] = problems_of(GATEWAY + "server_port = \n")
    assert problem.startswith("TOML syntax error:")
    assert "line 6, column" in problem


@pytest.mark.parametrize(
    "url", ["mysql://db/bridge", "sqlite:///x.db", "postgresql://u@h/db", "no-scheme.db"]
)
def test_bad_database_scheme_lists_accepted_ones(url: str) -> None:
    [problem] = problems_of(f'[database]\nurl = "{url}"\n' + GATEWAY)
    assert problem.startswith("database.url: database URL must start with ")
    assert "sqlite+aiosqlite://" in problem and "postgresql+asyncpg://" in problem


def test_database_password_is_registered_for_redaction() -> None:
    url = "postgresql+asyncpg://bridge:pg%40pass@127.0.0.1/bridge"
    parse_config(f'[database]\nurl = "{url}"\n' + GATEWAY, WHERE, ENV)
    assert REDACTOR.redact("login pg@pass") == "login ***"


def test_bad_network_name() -> None:
    [problem] = problems_of(GATEWAY.replace('"irc"', '"my irc"'))
    assert "network: expected an installed network name" in problem


def test_admin_must_be_a_bare_jid() -> None:
    [problem] = problems_of(GATEWAY + 'admins = ["example.org"]\n')
    assert "admins" in problem and "bare JIDs" in problem


def test_bad_encryption_key_is_not_echoed() -> None:
    [problem] = problems_of('[secrets]\nkey = "not-a-fernet-key"\n' + GATEWAY)
    assert problem.startswith("secrets.key: expected a Fernet key")
    assert "not-a-fernet-key" not in problem


def test_missing_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert str(caught.value) == f"{missing}: file not found"


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GATEWAY)
    assert load_config(path, ENV).gateway[0].domain == "irc.example.org"


def test_example_file_loads() -> None:
    environ = {
        "XMPP_BRIDGE_IRC_SECRET": "example-irc-secret-4242",
        "XMPP_BRIDGE_MATRIX_SECRET": "example-matrix-secret-4242",
    }
    config = load_config(REPO / "config.example.toml", environ)
    domains = [(g.domain, g.network) for g in config.gateway]
    assert domains == [("irc.localhost", "irc"), ("matrix.localhost", "matrix")]
    assert [g.component_secret(environ) for g in config.gateway] == [
        "example-irc-secret-4242",
        "example-matrix-secret-4242",
    ]


def field_names(model: type[BaseModel]) -> Iterator[str]:
    """Every leaf key of *model*, descending into nested tables."""
    for name, field in model.model_fields.items():
        candidates = (field.annotation, *get_args(field.annotation))
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if nested:
            yield from field_names(nested[0])
        else:
            yield name


def test_example_file_documents_every_key() -> None:
    text = (REPO / "config.example.toml").read_text()
    for name in field_names(Config):
        assert f"{name} =" in text or f".{name}]" in text, f"{name} is not in the example"
