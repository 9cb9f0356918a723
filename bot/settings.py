"""One typed settings object, read once at start from the environment (and an optional .env)."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingsError

# Every setting, its environment variable and what it is for; the README test keeps this honest.
DOCUMENTED = {
    "DATABASE_URL": "SQLAlchemy URL of the database (SQLite file or postgresql+psycopg://...)",
    "TOKENWORTH_CONFIG": "path of the org config YAML",
    "SLACK_BOT_TOKEN": "bot token (xoxb-...) for posting digests and answering commands",
    "SLACK_SIGNING_SECRET": "verifies that HTTP requests come from Slack",
    "SLACK_APP_TOKEN": "app-level token (xapp-...) for Socket Mode",
    "SLACK_API_URL": "base URL of the Slack Web API, for tests and proxies",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(default="sqlite:///./tokenworth.db")
    tokenworth_config: str = Field(default="./tokenworth.yml")
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; an invalid variable becomes a SettingsError that names it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
