"""Configuration from the environment: SECRET_KEY rules, embedded defaults, DEMO_DATA."""

from __future__ import annotations

import jwt
import pytest
from pydantic import ValidationError

from service.main import create_app
from service.settings import Settings, get_settings

ENV_VARS = [
    "MONGODB_URI",
    "MONGODB_DB",
    "SECRET_KEY",
    "ACCESS_TOKEN_MINUTES",
    "MAX_BODY_BYTES",
    "CORS_ORIGINS",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "DEMO_DATA",
    "DEMO_SEED",
    "LOG_LEVEL",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the variables it sets (and never a developer's .env)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env here: the env_file default is relative to the cwd


def from_env() -> Settings:
    return Settings()


def test_zero_configuration_is_the_embedded_store_with_defaults() -> None:
    settings = from_env()
    assert settings.embedded
    assert settings.mongodb_uri is None
    assert settings.mongodb_db == "challenge_run"
    assert settings.access_token_minutes == 60
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.cors_origin_list == []
    assert settings.load_demo is True


def test_empty_mongodb_uri_means_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "")
    settings = from_env()
    assert settings.embedded
    assert settings.load_demo is True


def test_secret_key_is_required_with_a_real_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017")
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        from_env()
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        from_env()


def test_the_app_refuses_to_start_without_secret_key_on_a_real_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
            create_app()
    finally:
        get_settings.cache_clear()


def test_real_database_with_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017")
    monkeypatch.setenv("MONGODB_DB", "runs_prod")
    monkeypatch.setenv("SECRET_KEY", "a-long-production-secret-key-value")
    settings = from_env()
    assert not settings.embedded
    assert settings.mongodb_db == "runs_prod"
    assert settings.jwt_key == "a-long-production-secret-key-value"


def test_embedded_mode_without_key_gets_a_random_per_process_key() -> None:
    first, second = from_env(), from_env()
    assert len(first.jwt_key) >= 32
    assert first.jwt_key != second.jwt_key
    # a token signed by one process is worthless to the next one
    token = jwt.encode({"sub": "x"}, first.jwt_key, algorithm="HS256")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, second.jwt_key, algorithms=["HS256"])


def test_embedded_mode_uses_a_given_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "my-development-key-of-32-bytes-at-least")
    assert from_env().jwt_key == "my-development-key-of-32-bytes-at-least"


@pytest.mark.parametrize("uri", ["", "mongodb://db.example:27017"])
def test_short_secret_keys_are_refused(monkeypatch: pytest.MonkeyPatch, uri: str) -> None:
    monkeypatch.setenv("MONGODB_URI", uri)
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        from_env()


def test_demo_data_defaults_off_with_a_real_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017")
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    assert from_env().load_demo is False
    monkeypatch.setenv("DEMO_DATA", "true")
    assert from_env().load_demo is True


def test_demo_data_can_be_turned_off_when_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATA", "false")
    assert from_env().load_demo is False


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_TOKEN_MINUTES", "15")
    monkeypatch.setenv("MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("CORS_ORIGINS", " https://a.example, https://b.example ,, ")
    monkeypatch.setenv("ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "admin-password")
    settings = from_env()
    assert settings.access_token_minutes == 15
    assert settings.max_body_bytes == 4096
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]
    assert settings.admin_email == "boss@example.com"
    assert settings.admin_password is not None
    assert settings.admin_password.get_secret_value() == "admin-password"


def test_secrets_are_not_shown_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "do-not-print-me-do-not-print-me-ever")
    monkeypatch.setenv("ADMIN_EMAIL", "root@example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "nor-me-please")
    shown = repr(from_env())
    assert "do-not-print-me" not in shown
    assert "nor-me-please" not in shown


@pytest.mark.parametrize(
    ("name", "value"),
    [("ACCESS_TOKEN_MINUTES", "0"), ("MAX_BODY_BYTES", "10"), ("DEMO_DATA", "maybe")],
)
def test_nonsense_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        from_env()


@pytest.mark.parametrize(
    "env",
    [
        {"ADMIN_EMAIL": "root@example.com"},
        {"ADMIN_PASSWORD": "long-enough-password"},
        {"ADMIN_EMAIL": "root@example.com", "ADMIN_PASSWORD": "short"},
    ],
)
def test_an_incomplete_admin_account_is_refused_at_startup(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="ADMIN_"):
        from_env()
