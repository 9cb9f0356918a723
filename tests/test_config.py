"""The org config: the documented shape loads, and every mistake names file, key path and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config.org import load_config, parse_config
from bot.errors import ConfigError
from tests.conftest import EXAMPLE_CONFIG


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "tokenworth.yml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def base() -> dict:
    return yaml.safe_load(EXAMPLE_CONFIG.read_text())


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert [t.name for t in config.teams] == ["platform", "product"]
    assert config.team("platform").digest.day == "monday"  # type: ignore[union-attr]
    assert config.people[1].aliases["api_keys"] == ("apikey_01zxFyow88vZd7F9uPSbiEE3",)
    assert config.people[0].aliases["github"] == ("ana-acme",)
    assert config.policy.points.pr_merged == 3 and config.policy.min_group_size == 5
    assert config.prices["claude-sonnet-4-6"].aliases == ("claude-4.6-sonnet",)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["teams"][0]["digest"].update(day="0"), "teams[0].digest.day: must be a day name"),
        (lambda c: c["teams"][1].update(timezone="Mars/Olympus"),
         "teams[1].timezone: unknown time zone 'Mars/Olympus'"),
        (lambda c: c["teams"][0]["digest"].update(time="25:00"), "teams[0].digest.time"),
        (lambda c: c["policy"].update(min_group_size=4), "policy.min_group_size: must be at least 5"),
        (lambda c: c["people"][2].update(email="not-an-email"), "people[2].email: 'not-an-email' is not an email"),
        (lambda c: c["people"][0]["aliases"].update(myspace="x"), "people[0].aliases: unknown alias kind 'myspace'"),
        (lambda c: c["people"][0].update(team="marketing"), "names unknown team 'marketing'"),
        (lambda c: c["prices"]["claude-sonnet-4-6"].update(tier="premium"), "prices.claude-sonnet-4-6.tier"),
        (lambda c: c.update(colour="blue"), "colour: Extra inputs are not permitted"),
    ],
)
def test_config_errors_name_file_and_key_path(tmp_path: Path, change, expected: str) -> None:
    data = base()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_conflicting_alias_names_both_people(tmp_path: Path) -> None:
    data = base()
    data["people"][1]["aliases"]["github"] = "ana-acme"
    with pytest.raises(ConfigError, match=r"'ana-acme' belongs to both ana@acme.test and ben@acme.test"):
        load_config(write(tmp_path, data))


def test_invalid_yaml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "teams: [unclosed"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yml")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_config(["a", "list"])


def test_alias_values_may_be_a_string_or_a_list() -> None:
    config = parse_config({"people": [{"email": "A@X.test", "aliases": {"api_keys": "k1", "github": ["a", "b"]}}]})
    assert config.people[0].email == "a@x.test"
    assert config.people[0].aliases == {"api_keys": ("k1",), "github": ("a", "b")}
