"""One typed settings object, read once at start from the environment (and an optional .env).

Invariant: no secret appears in a repr or str: tokens are SecretStr, and the password of any
database URL is shown as `***` (`redact_url`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

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
    "GITHUB_WEBHOOK_SECRET": "secret of the GitHub webhook delivering pull requests to /webhooks/github",
    "OUTCOMES_WEBHOOK_SECRET": "secret of POST /webhooks/outcomes, where workflows report their outcomes",
    "ANTHROPIC_ADMIN_KEY": "Anthropic Admin API key (sk-ant-admin...) for `tokenworth pull anthropic`",
    "ANTHROPIC_API_URL": "base URL of the Anthropic API",
    "OPENAI_ADMIN_KEY": "OpenAI Admin key for `tokenworth pull openai`",
    "OPENAI_API_URL": "base URL of the OpenAI API",
    "CURSOR_API_KEY": "Cursor Admin API key for `tokenworth pull cursor`",
    "CURSOR_API_URL": "base URL of the Cursor Admin API",
    "LITELLM_API_KEY": "LiteLLM master key or admin virtual key for `tokenworth pull litellm`",
    "LITELLM_API_URL": "base URL of your LiteLLM proxy (required to pull from it)",
    "LITELLM_PULL": (
        "what the daily job pulls from LiteLLM: `spend_logs` (every request; the default) or `daily` (the proxy's "
        "own per-day aggregates, for gateways too large to ship their logs)"
    ),
    "GITHUB_TOKEN": (
        "GitHub token for `tokenworth pull github` and `github-copilot` (read:org, manage_billing:copilot, repo)"
    ),
    "GITHUB_ORG": "GitHub organisation whose Copilot reports and seats are pulled",
    "GITHUB_REPOS": "comma-separated OWNER/NAME repositories whose pull requests the daily pull fetches",
    "GITHUB_API_URL": "base URL of the GitHub REST API (GitHub Enterprise Server: https://HOST/api/v3)",
    "MICROSOFT_APP_ID": "the Teams bot's Microsoft Entra app (client) id; also the Teams app package id",
    "MICROSOFT_APP_PASSWORD": "client secret of that Entra app, for replies and digests in Teams",
    "MICROSOFT_APP_TENANT_ID": "Entra tenant id of a single-tenant bot app",
    "TEAMS_ANONYMOUS": (
        "true accepts Teams requests without a Bot Framework JWT: local testing only, never in production"
    ),
    "PUBLIC_URL": "public https base URL of this bot's server, for chart images in Teams cards (/charts/...)",
    "WEBHOOK_SPOOL_DIR": (
        "directory where GitHub deliveries wait while the database is locked (default: next to the SQLite file)"
    ),
    "OTLP_TOKEN": "bearer token OTLP exporters (Claude Code) send to POST /v1/metrics; unset refuses every export",
    "CURSOR_AI_CODE_TRACKING": "true pulls Cursor's AI Code Tracking API (Enterprise) daily with CURSOR_API_KEY",
    "OPENAI_CODEX_KEY": "OpenAI Platform key with scope codex.enterprise.analytics.read for `tokenworth pull codex`",
    "CODEX_WORKSPACE_ID": "the ChatGPT Enterprise workspace whose Codex analytics are pulled",
    "CHATGPT_API_URL": "base URL of the ChatGPT API (Codex analytics)",
    "ANTHROPIC_ANALYTICS_KEY": "Claude Enterprise Analytics key (scope read:analytics) for `pull claude-enterprise`",
}
# user:password@ in a URL's authority (the password may hold anything but the last @), and password= in its query.
_URL_PASSWORD = re.compile(r"^(?P<head>[^:/?#]+://[^:/?#@]*:)(?P<password>.*)(?P<tail>@[^@]*)$", re.S)
_QUERY_PASSWORD = re.compile(r"(?i)(?P<key>[?&]password=)[^&#]*")


def redact_url(url: str) -> str:
    """The URL with its password shown as `***`: postgresql://user:***@host/db."""
    redacted = _URL_PASSWORD.sub(r"\g<head>***\g<tail>", url)
    return _QUERY_PASSWORD.sub(r"\g<key>***", redacted)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(default="sqlite:///./tokenworth.db")
    tokenworth_config: str = Field(default="./tokenworth.yml")
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    github_webhook_secret: SecretStr | None = None
    outcomes_webhook_secret: SecretStr | None = None
    anthropic_admin_key: SecretStr | None = None
    anthropic_api_url: str = "https://api.anthropic.com"
    openai_admin_key: SecretStr | None = None
    openai_api_url: str = "https://api.openai.com/v1"
    cursor_api_key: SecretStr | None = None
    cursor_api_url: str = "https://api.cursor.com"
    litellm_api_key: SecretStr | None = None
    litellm_api_url: str | None = None
    litellm_pull: Literal["spend_logs", "daily"] = "spend_logs"
    github_token: SecretStr | None = None
    github_org: str | None = None
    github_repos: str | None = None
    github_api_url: str = "https://api.github.com"
    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_tenant_id: str | None = None
    teams_anonymous: bool = False
    public_url: str | None = None
    webhook_spool_dir: str | None = None
    otlp_token: SecretStr | None = None
    anthropic_analytics_key: SecretStr | None = None
    cursor_ai_code_tracking: bool = False
    openai_codex_key: SecretStr | None = None
    codex_workspace_id: str | None = None
    chatgpt_api_url: str = "https://api.chatgpt.com/v1"

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if isinstance(value, str) else value

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

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("anthropic_api_url", "openai_api_url", "cursor_api_url", "litellm_api_url", "github_api_url",
                     "chatgpt_api_url")
    @classmethod
    def _vendor_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; an invalid variable becomes a SettingsError that names it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
