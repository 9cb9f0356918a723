"""`tokenworth people import`: the sample org's people.csv gives back the example config's people."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.config.org import OrgConfig, load_config
from bot.errors import ConfigError
from bot.people.csv_import import import_into_config, import_people
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.test_cli import tokenworth

PEOPLE_CSV = FIXTURES / "people.csv"


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    path = tmp_path / "tokenworth.yml"
    shutil.copy(EXAMPLE_CONFIG, path)
    return path


def without_people(path: Path, keep: list[dict] | None = None) -> None:
    raw = yaml.safe_load(path.read_text())
    text = path.read_text().split("people:", 1)[0] + yaml.safe_dump({"people": keep or []}, sort_keys=False)
    text += yaml.safe_dump({k: v for k, v in raw.items() if k not in ("teams", "people")}, sort_keys=False)
    path.write_text(text)


def aliases(config: OrgConfig) -> dict[str, tuple[str | None, str | None, dict[str, tuple[str, ...]]]]:
    return {p.email: (p.name, p.team, p.aliases) for p in config.people}


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_people_csv_reads_as_the_example_configs_people(acme_config: OrgConfig) -> None:
    people = import_people(PEOPLE_CSV)
    assert [p["email"] for p in people] == [p.email for p in acme_config.people]
    by_email = {p.email: p for p in acme_config.people}
    for person in people:
        expected = by_email[person["email"]]
        got = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in person["aliases"].items()}
        assert (person["name"], person["team"], got) == (expected.name, expected.team, expected.aliases)
    cara = next(p for p in people if p["email"] == "cara@acme.test")
    assert "cursor" not in cara["aliases"] and "linear" not in cara["aliases"]  # empty columns are no aliases


def test_importing_into_a_config_without_people_rebuilds_the_example(config_copy: Path, acme_config: OrgConfig) -> None:
    without_people(config_copy)
    assert load_config(config_copy).people == ()
    summary = import_into_config(PEOPLE_CSV, config_copy)
    assert (summary.people, summary.added, summary.updated) == (6, 6, 0)
    rebuilt = load_config(config_copy)
    assert aliases(rebuilt) == aliases(acme_config)
    assert rebuilt.model_dump(exclude={"people"}) == acme_config.model_dump(exclude={"people"})
    assert config_copy.read_text().startswith("# The sample org")  # comments outside people: survive


def test_reimporting_into_the_example_changes_no_setting(config_copy: Path, acme_config: OrgConfig) -> None:
    summary = import_into_config(PEOPLE_CSV, config_copy)
    assert (summary.added, summary.updated) == (0, 6)
    assert load_config(config_copy) == acme_config
    text = config_copy.read_text()
    assert "# The sample org" in text and text.index("teams:") < text.index("people:") < text.index("policy:")


def test_import_updates_by_email_and_keeps_what_the_csv_does_not_say(config_copy: Path) -> None:
    keep = [
        {"email": "Ana@acme.test", "name": "Ana A.", "team": "platform",
         "aliases": {"slack": "U0ANA", "github": "old-ana"}},
        {"email": "zed@acme.test", "name": "Zed", "team": "product", "aliases": {"github": "zed-z"}},
    ]
    without_people(config_copy, keep)
    summary = import_into_config(PEOPLE_CSV, config_copy)
    assert (summary.added, summary.updated) == (5, 1)
    people = {p.email: p for p in load_config(config_copy).people}
    assert people["ana@acme.test"].name == "Ana Alvarez"
    assert people["ana@acme.test"].aliases["github"] == ("ana-acme",)
    assert people["ana@acme.test"].aliases["slack"] == ("U0ANA",)
    assert people["zed@acme.test"].aliases == {"github": ("zed-z",)}
    assert len(people) == 7


def test_a_conflicting_alias_names_both_people_and_leaves_the_file_alone(config_copy: Path, tmp_path: Path) -> None:
    before = config_copy.read_bytes()
    csv = write_csv(tmp_path / "new.csv", "email,display_name,team,github_login",
                    "gus@acme.test,Gus,platform,ana-acme")
    with pytest.raises(ConfigError) as caught:
        import_into_config(csv, config_copy)
    assert "ana@acme.test" in str(caught.value) and "gus@acme.test" in str(caught.value)
    assert config_copy.read_bytes() == before


def test_teams_missing_from_the_config_are_named_and_not_invented(config_copy: Path, tmp_path: Path) -> None:
    before = config_copy.read_bytes()
    csv = write_csv(
        tmp_path / "new.csv", "email,team", "gus@acme.test,data", "hal@acme.test,infra", "ivy@acme.test,platform"
    )
    with pytest.raises(ConfigError, match="does not define: data, infra"):
        import_into_config(csv, config_copy)
    assert config_copy.read_bytes() == before


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["name,team", "Gus,platform"], "needs an email column"),
        (["email,team", "gus@acme.test,platform", "not-an-email,platform"], "line 3: email"),
        (["email,team", "gus@acme.test,platform", "GUS@acme.test,product"],
         "line 3: gus@acme.test is already on line 2"),
    ],
)
def test_bad_people_csvs_are_refused_with_the_line(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        import_people(write_csv(tmp_path / "people.csv", *lines))


def test_several_key_ids_become_one_api_keys_list(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "people.csv", "email,anthropic_api_key_ids,openai_api_key_ids,cursor_email",
                    "gus@acme.test,apikey_01A|apikey_01B,key_X,gus@acme.test")
    [gus] = import_people(csv)
    assert gus["aliases"] == {"api_keys": ["apikey_01A", "apikey_01B", "key_X"], "cursor": "gus@acme.test"}


def test_import_creates_a_config_when_there_is_none(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "people.csv", "email,display_name,github_login", "gus@acme.test,Gus,gus-g")
    import_into_config(csv, tmp_path / "new" / "tokenworth.yml")
    [gus] = load_config(tmp_path / "new" / "tokenworth.yml").people
    assert (gus.email, gus.name, gus.aliases) == ("gus@acme.test", "Gus", {"github": ("gus-g",)})


def test_cli_imports_and_reports_errors_as_a_user_sees_them(config_copy: Path, tmp_path: Path) -> None:
    without_people(config_copy)
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    done = tokenworth("people", "import", str(PEOPLE_CSV), "--config", str(config_copy), "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "6 people (6 added, 0 updated)" in done.stdout
    assert len(load_config(config_copy).people) == 6
    bad = write_csv(tmp_path / "bad.csv", "email,team", "gus@acme.test,nowhere")
    refused = tokenworth("people", "import", str(bad), "--config", str(config_copy), "--db", db, cwd=tmp_path)
    assert refused.returncode == 2 and "error:" in refused.stderr and "nowhere" in refused.stderr


def test_only_the_people_block_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "tokenworth.yml"
    path.write_text(
        "teams:\n  - name: platform  # the platform team\n"
        "people:\n- email: zed@acme.test\n  # Zed's laptop key\n  aliases: {github: zed-z}\n"
        "\n# Scoring: tickets count a point each\npolicy:\n  min_group_size: 6\n"
    )
    import_into_config(write_csv(tmp_path / "p.csv", "email,team", "gus@acme.test,platform"), path)
    text = path.read_text()
    assert text.startswith("teams:\n  - name: platform  # the platform team\npeople:\n  - email: zed@acme.test\n")
    assert text.endswith("\n# Scoring: tickets count a point each\npolicy:\n  min_group_size: 6\n")
    assert [p.email for p in load_config(path).people] == ["zed@acme.test", "gus@acme.test"]
