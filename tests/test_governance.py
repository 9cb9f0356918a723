"""The access log read back: `/tokenworth privacy` for the people inside, `tokenworth audit` for admins.

Shared by the other governance tests: the sample org (examples/tokenworth.yml) with the fixture feeds ingested.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from bot.answers.commands import answer
from bot.answers.types import PrivacyAnswer
from bot.config.settings import Settings
from bot.governance import NOT_FOR_EVALUATION
from bot.governance.access import Showing, record_showing, showings_including
from bot.governance.audit import audit_json, audit_lines, audit_rows
from bot.ingest.files import ingest_paths
from bot.msteams.cards import answer_card
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.slack.render import answer_blocks
from storage.engine import session_scope
from storage.models import AccessLog, Person, table
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.test_cli import tokenworth

# Every top-level fixture that is a feed file (not a JSON schema, webhook headers, notes, the people CSV, or the
# PR-files pages, which only a pull reads).
FEED_FILES = sorted(
    p for p in FIXTURES.iterdir()
    if p.is_file() and "schema" not in p.name and ".headers." not in p.name and p.suffix != ".md"
    and p.name != "people.csv" and not p.name.startswith("github_pull_files")
)
AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def write_config(path: Path, drop: str | None = None, **changes: Any) -> Path:
    """The sample org's config, without one person's `people:` entry and with top-level keys changed."""
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    raw["people"] = [p for p in raw["people"] if p["email"] != drop]
    raw.update(changes)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def acme_runtime(db_url: str, config: Path = EXAMPLE_CONFIG, ingest: bool = True) -> Runtime:
    runtime = Runtime(Settings(), db_url, str(config))
    prepare(runtime)
    if ingest:
        reports = ingest_paths(runtime.engine, FEED_FILES, config=runtime.config)
        assert not any(r.unusable or r.rejected for r in reports)
    return runtime


def person_ids(engine: Engine) -> dict[str, int]:
    p = table(Person)
    with session_scope(engine) as session:
        return {email: int(i) for email, i in session.execute(select(p.c.email, p.c.id))}


def log_rows(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [dict(r) for r in session.execute(select(table(AccessLog)).order_by(table(AccessLog).c.id)).mappings()]


def record_acme_showings(engine: Engine) -> dict[str, int]:
    """Four showings of platform's W47 figures, one of product's, and one whose ids only look like ana's."""
    ids = person_ids(engine)
    platform = frozenset(ids[e] for e in ("ana@acme.test", "ben@acme.test", "cara@acme.test"))
    product = frozenset(ids[e] for e in ("dev@acme.test", "eli@acme.test", "fay@acme.test"))
    lookalike = frozenset(int(f"{ids['ana@acme.test']}{d}") for d in range(5))  # 10..14 for ana's 1
    for showing in (
        Showing("digest", "channel", "#platform-leads", "slack", "platform", "2026-W47", platform),
        Showing("digest", "channel", "#platform-leads", "slack", "platform", "2026-W46", platform),
        Showing("team", "person", "ana@acme.test", "slack", "platform", "2026-W47", platform),
        Showing("export", "person", "zed@acme.test", None, "platform", "2026-W47", platform, detail="csv"),
        Showing("digest", "channel", "C0123ABCDEF", "slack", "product", "2026-W47", product),
        Showing("admin_digest", "role", "admin", None, None, "2026-W47", lookalike),
    ):
        record_showing(engine, showing, now=AT)
    return ids


@pytest.fixture
def acme(db_url: str) -> Runtime:
    return acme_runtime(db_url)


def test_privacy_counts_the_showings_that_included_the_asker_by_channel_and_role(acme: Runtime) -> None:
    record_acme_showings(acme.engine)
    reply = answer(acme, "cara@acme.test", "privacy")
    assert isinstance(reply, PrivacyAnswer)
    shown = {(e.surface, e.audience): e.times for e in reply.shown}
    assert shown == {
        ("digest", "channel #platform-leads on slack"): 2,
        ("team", "a manager of platform on slack"): 1,
        ("export", "one person (name withheld)"): 1,
    }
    text = reply.text
    assert "Figures that included you were shown 4 times since 2026-11-23:" in text
    assert "2× the weekly digest to channel #platform-leads on slack, last on 2026-11-23" in text
    for name in ("ana@acme.test", "zed@acme.test", "Ana Alvarez", "C0123ABCDEF"):
        assert name not in text  # never another person's name, never a channel her figures were not in
    assert "deleted 400 days after the day they describe" in text and NOT_FOR_EVALUATION in text
    assert "Feeds with data about you: anthropic_usage, claude_code" in text


def test_ids_that_merely_contain_the_askers_id_do_not_count(acme: Runtime) -> None:
    ids = record_acme_showings(acme.engine)
    assert ids["ana@acme.test"] == 1  # so the admin row's members 10..14 contain "1" as text
    with session_scope(acme.engine) as session:
        assert [r["surface"] for r in showings_including(session, 1)] == ["digest", "digest", "team", "export"]
    reply = answer(acme, "ana@acme.test", "privacy")
    assert isinstance(reply, PrivacyAnswer)
    assert sum(e.times for e in reply.shown) == 4
    assert ("team", "you") in {(e.surface, e.audience) for e in reply.shown}


def test_privacy_before_any_showing_and_with_another_retention(tmp_path: Path) -> None:
    config = write_config(tmp_path / "tokenworth.yml", retention={"days": 200})
    runtime = acme_runtime(f"sqlite:///{tmp_path / 'tw.db'}", config, ingest=False)
    reply = answer(runtime, "fay@acme.test", "privacy")
    assert isinstance(reply, PrivacyAnswer) and reply.shown == () and reply.retention_days == 200
    assert "Figures that included you have not been shown to anyone yet." in reply.text
    assert "deleted 200 days after" in reply.text


def test_privacy_renders_on_slack_and_teams(tmp_path: Path) -> None:
    runtime = acme_runtime(f"sqlite:///{tmp_path / 'tw.db'}")
    record_acme_showings(runtime.engine)
    reply = answer(runtime, "ben@acme.test", "privacy")
    slack = json.dumps(answer_blocks(reply))
    assert "shown 4 times" in slack and "*400 days*" in slack and "`tokenworth forget`" in slack
    card = answer_card(reply)
    texts = [block["text"] for block in card["body"]]
    assert texts[0] == "Your data in tokenworth"
    assert any("**400 days**" in t for t in texts) and any("a manager of platform" in t for t in texts)


def test_audit_lists_the_log_without_member_ids_and_never_changes_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    runtime = acme_runtime(db, ingest=False)
    record_acme_showings(runtime.engine)
    record_showing(runtime.engine, Showing("team", "person", "dev@acme.test", "teams", "product", "2026-W48",
                                           frozenset({4, 5, 6})), now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    before = log_rows(runtime.engine)
    common = ("--db", db, "--config", str(EXAMPLE_CONFIG))

    listed = tokenworth("audit", "--json", *common, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [r["surface"] for r in data["showings"]] == [r["surface"] for r in before]
    assert all("members" not in r for r in data["showings"])
    assert data["showings"][0]["people"] == 3 and data["showings"][0]["audience"] == "#platform-leads"
    assert {"surface": "digest", "audience_kind": "channel", "showings": 3} in data["summary"]

    since = tokenworth("audit", "--since", "2026-11-30", *common, cwd=tmp_path)
    assert since.returncode == 0, since.stderr
    assert since.stdout.splitlines() == [
        "2026-12-01 09:00 UTC  team         person dev@acme.test (teams)  product 2026-W48  3 people",
        "1 showings: 1 team to person",
    ]
    assert log_rows(runtime.engine) == before


def test_audit_of_an_empty_log(tmp_path: Path) -> None:
    runtime = acme_runtime(f"sqlite:///{tmp_path / 'tw.db'}", ingest=False)
    rows = audit_rows(runtime.engine)
    assert rows == [] and audit_lines(rows) == ["The access log is empty: no team figures have been shown yet."]
    assert audit_json(rows) == {"showings": [], "summary": []}


def test_the_log_is_append_only_in_the_code() -> None:
    """No module updates or deletes access-log rows; only access.py writes them, by INSERT."""
    root = Path(__file__).resolve().parent.parent / "bot"
    for path in root.rglob("*.py"):
        source = path.read_text()
        if "AccessLog" not in source and "ACCESS" not in source:
            continue
        for needle in ("delete(ACCESS", "update(ACCESS", "delete(table(AccessLog)", "update(table(AccessLog)",
                       "delete(AccessLog", "update(AccessLog"):
            assert needle not in source, f"{path}: {needle}"


def test_the_readme_says_what_the_figures_are_not_for() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert readme.index("## Governance: access log, retention, erasure, DPIA\n") < readme.index("## Data flow\n")
    governance = readme.split("## Governance: access log, retention, erasure, DPIA\n", 1)[1].split("\n## ", 1)[0]
    assert NOT_FOR_EVALUATION in governance
    for key in ("retention:", "`tokenworth audit", "`tokenworth purge", "`tokenworth forget", "`tokenworth dpia"):
        assert key in governance
