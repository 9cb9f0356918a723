"""manifest.yml against Slack's official app manifest schema (a verbatim copy in tests/fixtures)."""

from __future__ import annotations

import json

import jsonschema
import yaml

from tests.conftest import FIXTURES, ROOT


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_the_official_schema() -> None:
    schema = json.loads((FIXTURES / "slack-app-manifest.schema.1.0.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(manifest())


def test_manifest_asks_only_for_the_scopes_the_bot_uses() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == {"commands", "chat:write", "files:write", "im:write", "users:read", "users:read.email",
                      "channels:read", "groups:read"}


def test_schema_rejects_a_broken_manifest() -> None:
    schema = json.loads((FIXTURES / "slack-app-manifest.schema.1.0.0.json").read_text())
    broken = manifest()
    broken["features"]["slash_commands"][0]["command"] = "tokenworth"  # no leading slash
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))
