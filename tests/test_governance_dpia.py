"""`tokenworth dpia`: the DPIA and works-council pack for the sample org, section by section."""

from __future__ import annotations

import json
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config.settings import Settings
from bot.errors import UsageError
from bot.governance import NOT_FOR_EVALUATION
from bot.governance.dpia import FEED_CATEGORIES, gather, render, render_pdf, write_pack
from bot.governance.erasure import forget
from bot.ingest.feeds import FEEDS
from bot.ingest.files import ingest_paths
from bot.runtime import Runtime
from storage import make_engine
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.test_cli import tokenworth
from tests.test_governance import acme_runtime, record_acme_showings, write_config

SECTIONS = ("# tokenworth: data protection impact assessment", "## 1. Purposes", "## 2. Data categories by feed",
            "## 3. Who sees what, at which grain", "## 4. Privacy floor and disclosure rules",
            "## 5. Retention and erasure", "## 6. Access log", "## 7. Where the data is stored",
            "## 8. For the works council and the DPIA")


def section(pack: str, heading: str) -> str:
    return pack.split(heading, 1)[1].split("\n## ", 1)[0]


def test_every_registered_feed_has_its_data_categories() -> None:
    assert set(FEED_CATEGORIES) == set(FEEDS)


def test_the_pack_for_the_sample_org_has_every_section(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    runtime = acme_runtime(db)
    record_acme_showings(runtime.engine)
    out = tmp_path / "pack"

    result = tokenworth("dpia", "--out", str(out), "--db", db, "--config", str(EXAMPLE_CONFIG), cwd=tmp_path,
                        env={"PATH": str(Path(sys.executable).parent)})  # no pandoc, no libreoffice

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Wrote {out / 'dpia.md'} (no PDF: ")
    pack = (out / "dpia.md").read_text()
    assert [pack.index(h) for h in SECTIONS] == sorted(pack.index(h) for h in SECTIONS)
    assert pack.count(NOT_FOR_EVALUATION) >= 2
    assert "ana@acme.test" not in pack and "Ana Alvarez" not in pack  # roles and counts, never people

    purposes = section(pack, "## 1. Purposes")
    assert "outcome points per $100" in purposes and "Not a purpose: ranking people" in purposes
    feeds = section(pack, "## 2. Data categories by feed")
    for name in FEEDS:
        assert f"| `{name}` | {FEED_CATEGORIES[name]} |" in feeds
    assert "| `claude_code` |" in feeds and "| 0 |" in feeds  # a feed not in use shows no rows
    assert "People in the directory: 6 " in feeds
    grain = section(pack, "## 3. Who sees what, at which grain")
    assert "| platform | 3 | 1 | Slack #platform-leads | never: fewer people than the floor |" in grain
    assert "| product | 3 | 1 | Slack C0123ABCDEF | never: fewer people than the floor |" in grain
    assert "only to that person" in grain and "`tokenworth me --email`" in grain
    rules = section(pack, "## 4. Privacy floor and disclosure rules")
    assert "`min_group_size` is 5" in rules and "(README.md#privacy)" in rules
    retention = section(pack, "## 5. Retention and erasure")
    assert "deleted 400 days after the day they describe" in retention and "Erasures logged so far: 0." in retention
    access = section(pack, "## 6. Access log")
    assert "Showings since 2026-11-23:" in access
    assert "| digest | channel | 3 |" in access and "| team | person | 1 |" in access
    assert "| admin_digest | role | 1 |" in access
    storage = section(pack, "## 7. Where the data is stored")
    assert f"`{db}`" in storage and f"`{EXAMPLE_CONFIG}`" in storage


def test_the_pack_follows_the_running_config_and_redacts_the_password(db_url: str, tmp_path: Path) -> None:
    secret = make_url(db_url).set(password="s3cret-Pa55") if db_url.startswith("postgresql") else make_url(db_url)
    config = write_config(tmp_path / "tokenworth.yml", drop="cara@acme.test", retention={"days": 200},
                          policy={"min_group_size": 6})
    acme_runtime(db_url, ingest=False)
    runtime = Runtime(Settings(), db_url, str(config))  # cara left the config; no sync has run since
    forget(runtime.engine, runtime.config, "cara@acme.test")
    engine = make_engine(secret.render_as_string(hide_password=False))  # trust auth ignores the password
    try:
        pack = render(gather(engine, runtime.config, str(config), now=datetime(2026, 12, 2, tzinfo=UTC)))
    finally:
        engine.dispose()
    assert "Generated 2026-12-02 00:00 UTC" in pack
    assert "s3cret-Pa55" not in pack
    if db_url.startswith("postgresql"):
        assert ":***@" in section(pack, "## 7. Where the data is stored")
    assert "`min_group_size` is 6" in pack and "deleted 200 days after" in pack
    assert "Erasures logged so far: 1." in pack and "No showings are logged yet." in pack
    assert "| platform | 2 | 1 |" in pack


def test_a_pdf_is_rendered_when_a_renderer_is_installed(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "pandoc"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\n# a stand-in for pandoc: copies IN to the file after -o\ncp "$1" "$3"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    md = tmp_path / "dpia.md"
    md.write_text("# pack\n")
    pdf, note = render_pdf(md, (("pandoc", (str(fake), "{md}", "-o", "{pdf}")),))
    assert pdf == tmp_path / "dpia.pdf" and pdf.read_text() == "# pack\n" and note == "PDF rendered by pandoc"
    broken = tmp_path / "bin" / "soffice"
    broken.write_text("#!/bin/sh\necho 'no display' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    pdf.unlink()
    none, why = render_pdf(md, (("soffice", (str(broken), "{md}")), ("nothing", ("tokenworth-no-such-renderer",))))
    assert none is None and why == "no PDF: soffice: exit 3: no display"


def test_dpia_needs_no_schema_write(tmp_path: Path) -> None:
    """The pack only reads: a database behind the schema is reported, never migrated."""
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    result = tokenworth("dpia", "--out", str(tmp_path / "pack"), "--db", db, "--config", str(EXAMPLE_CONFIG),
                        cwd=tmp_path)
    assert result.returncode == 2 and "run `tokenworth db upgrade`" in result.stderr
    assert not (tmp_path / "pack").exists()


def test_an_unwritable_out_is_a_clean_error(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file, not a directory")
    with pytest.raises(UsageError, match="--out .*taken: cannot write the pack there"):
        write_pack(taken, "# pack\n")


def test_the_pack_lists_the_work_details_stored_and_counts_them(tmp_path: Path) -> None:
    """Labels, branch, line counts, PR files and changelog-derived times are processed data too: named and counted."""
    runtime = acme_runtime(f"sqlite:///{tmp_path / 'tw.db'}", ingest=False)
    listed = json.loads((FIXTURES / "github_pulls.json").read_text())
    enriched = tmp_path / "pull-1195-files.json"
    files = json.loads((FIXTURES / "sample_org" / "pull_files" / "1195.json").read_text())
    enriched.write_text(json.dumps({**next(p for p in listed if p["number"] == 1195), "files": files}))
    ingest_paths(runtime.engine, [enriched, FIXTURES / "jira_search.json"], config=runtime.config)
    pack = render(gather(runtime.engine, runtime.config, str(EXAMPLE_CONFIG), now=datetime(2026, 12, 2, tzinfo=UTC)))
    feeds = section(pack, "## 2. Data categories by feed")
    for what in ("labels", "head branch", "lines added and deleted", "paths of the files it changed",
                 "never their contents"):
        assert what in FEED_CATEGORIES["github"], what
    assert "from the changelog when work started" in FEED_CATEGORIES["jira"] and "reopened" in FEED_CATEGORIES["jira"]
    assert "state history" in FEED_CATEGORIES["linear"] and "branch" in FEED_CATEGORIES["linear"]
    # #1195: its outcome, its work details and its files' row; each PLAT ticket: its outcome and work details
    assert f"| `github` | {FEED_CATEGORIES['github']} | 3 |" in feeds
    assert f"| `jira` | {FEED_CATEGORIES['jira']} | 26 |" in feeds
    assert "paths of the files it changed and how many lines" in section(pack, "## 1. Purposes")
    assert "outcomes (with their work details)" in section(pack, "## 5. Retention and erasure")
