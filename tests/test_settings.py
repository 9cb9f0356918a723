"""Settings come from the environment, are validated with the variable's name, and never leak secrets."""

from __future__ import annotations

import pytest

from bot.config.settings import load_settings
from bot.errors import SettingsError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DATABASE_URL", "TOKENWORTH_CONFIG", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
                 "SLACK_APP_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_no_credentials() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./tokenworth.db"
    assert settings.tokenworth_config == "./tokenworth.yml"
    assert settings.slack_bot_token is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SLACK_BOT_TOKEN", "xoxp-user-token"), ("SLACK_APP_TOKEN", "xoxb-1"), ("DATABASE_URL", "mysql://x"),
     ("SLACK_API_URL", "ftp://slack")],
)
def test_invalid_variable_is_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings()
    assert value not in str(caught.value)


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-very-secret"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / ".env").write_text("SLACK_API_URL=http://127.0.0.1:9/api\n")
    assert load_settings().slack_api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://tokenworth:hunter2-db-pass@db.internal:5432/tokenworth",
     "postgresql://tokenworth:hunter2-db-pass@with@at@db/tokenworth?sslmode=require",
     "postgresql+psycopg://db.internal/tokenworth?user=tw&password=hunter2-db-pass"],
)
def test_database_passwords_never_appear_in_reprs(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    from bot.runtime import Runtime

    monkeypatch.setenv("DATABASE_URL", url)
    settings = load_settings()
    runtime = Runtime.from_settings(settings)
    for shown in (repr(settings), str(settings), repr(runtime), str(runtime)):
        assert "hunter2" not in shown
        assert "***" in shown and "tokenworth" in shown
    assert "postgresql+psycopg://tokenworth:***@db.internal:5432/tokenworth" in repr(settings) or "?" in url
    assert settings.database_url == url and runtime.db_url == url  # only the display is redacted
