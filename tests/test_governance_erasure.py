"""`tokenworth forget`: a person erased from every table, the erasure logged by hashes, the config respected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from microsoft_agents.activity import ChannelAccount, ConversationAccount, ConversationReference
from sqlalchemy import Engine, insert, inspect, select, text, update

from bot.config.org import load_config
from bot.core.privacy import identity_digest, subject_digest
from bot.errors import ConfigError, UnknownPerson
from bot.governance.access import Showing, record_showing
from bot.governance.erasure import forget, parse_alias
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import ConversationRef, Erasure, Identity, Person, PublishedSnapshot, table
from tests.conftest import EXAMPLE_CONFIG
from tests.test_cli import tokenworth
from tests.test_governance import FEED_FILES, acme_runtime, log_rows, person_ids, write_config

CARA = "cara@acme.test"
CARA_AAD = "0b8c7e62-CARA-4d1e-9a57-3f1d2c4b5a69"


def with_teams_alias(path: Path) -> Path:
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    for person in raw["people"]:
        if person["email"] == CARA:
            person["aliases"]["teams"] = CARA_AAD
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def without_cara(path: Path, source: Path = EXAMPLE_CONFIG) -> Path:
    raw = yaml.safe_load(source.read_text())
    raw["people"] = [p for p in raw["people"] if p["email"] != CARA]
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def personal_chat(aad: str, name: str, conversation: str, kind: str = "personal") -> dict[str, Any]:
    reference = ConversationReference(
        user=ChannelAccount(id=f"29:{conversation}", aad_object_id=aad, name=name), bot=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id=conversation, conversation_type=kind, tenant_id="tenant"),
        channel_id="msteams", service_url="https://smba.example.test/",
    )
    return {"platform": "teams", "channel_id": conversation, "updated_at": _now(),
            "reference": reference.model_dump_json(by_alias=True, exclude_none=True)}


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 20, tzinfo=UTC)


def everything(engine: Engine) -> str:
    """Every row of every table, as one lower-cased text."""
    rows = []
    with engine.connect() as connection:
        for name in inspect(engine).get_table_names():
            rows += [repr(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{name}"'))]
    return "\n".join(rows).lower()


def cara_identities(engine: Engine) -> list[tuple[str, str]]:
    i, p = table(Identity).c, table(Person).c
    with session_scope(engine) as session:
        query = select(i.kind, i.value).join(table(Person), i.person_id == p.id).where(p.email == CARA)
        return [(k, v) for k, v in session.execute(query)]


def test_forget_refuses_while_the_config_still_lists_the_person(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    runtime = acme_runtime(db)
    before = everything(runtime.engine)
    with pytest.raises(ConfigError, match=r"still in the config \(people\[2\]\): remove them from the config first"):
        forget(runtime.engine, runtime.config, CARA)
    manager_only = write_config(tmp_path / "ana.yml", drop="ana@acme.test")
    with pytest.raises(ConfigError, match=r"teams\[0\]\.managers"):
        forget(runtime.engine, load_config(manager_only), "Ana@Acme.test")
    result = tokenworth("forget", "--email", CARA, "--db", db, "--config", str(EXAMPLE_CONFIG), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {CARA} is still in the config (people[2])")
    assert everything(runtime.engine) == before


def test_forget_removes_the_person_from_every_table_and_logs_hashes_only(db_url: str, tmp_path: Path) -> None:
    runtime = acme_runtime(db_url, with_teams_alias(tmp_path / "tokenworth.yml"))
    engine = runtime.engine
    ids = person_ids(engine)
    with session_scope(engine) as session:
        session.execute(update(table(Person)).where(table(Person).c.email == CARA).values(slack_user_id="U0CARA42"))
        session.execute(insert(table(ConversationRef)), [
            personal_chat(CARA_AAD.upper(), "Cara Chen", "a:cara-1to1"),
            personal_chat("aad-ben", "Ben Brooks", "a:ben-1to1"),
            personal_chat(CARA_AAD, "Platform", "19:platform@thread.tacv2", kind="channel"),
        ])
        session.execute(insert(table(PublishedSnapshot)).values(
            team="platform", week="2026-W47", published_at=_now(), members="1,2,3", figures='{"spend_usd": 12.5}'))
    record_showing(engine, Showing("digest", "channel", "#platform-leads", "slack", "platform", "2026-W47",
                                   frozenset({ids[CARA], ids["ana@acme.test"]})))
    theirs = cara_identities(engine)
    assert ("teams", CARA_AAD) in theirs and ("github", "cara-codes") in theirs
    others = everything(engine).count("ben@acme.test")
    log = log_rows(engine)

    done = forget(engine, load_config(without_cara(tmp_path / "gone.yml", tmp_path / "tokenworth.yml")), CARA,
                  requested_by="dpo@acme.test")

    assert done.warning is None and done.removed["person"] == 1
    assert done.removed["conversationref"] == 1 and done.removed["conversationref.user"] == 1
    assert min(done.removed[t] for t in ("usage", "activity", "outcome", "seat", "identity")) > 0
    dump = everything(engine)
    for trace in (CARA, "cara chen", "u0cara42", "a:cara-1to1", *(value.lower() for _, value in theirs)):
        assert trace not in dump, trace
    assert dump.count("ben@acme.test") == others and "a:ben-1to1" in dump and "19:platform@thread.tacv2" in dump
    assert log_rows(engine) == log  # the access log keeps its ids; they no longer resolve to anybody
    with session_scope(engine) as session:
        assert session.execute(select(table(PublishedSnapshot).c.figures)).scalar_one() == '{"spend_usd": 12.5}'
        erasure = session.execute(select(table(Erasure))).mappings().one()
    assert erasure["subject"] == subject_digest(CARA) and erasure["requested_by"] == "dpo@acme.test"
    assert {identity_digest(kind, value) for kind, value in theirs} <= set(json.loads(erasure["identities"]))
    assert json.loads(erasure["removed"]) == done.removed

    with pytest.raises(UnknownPerson, match="nothing is stored about cara@acme.test; already forgotten on"):
        forget(engine, load_config(tmp_path / "gone.yml"), CARA)


def test_aliases_detached_by_a_sync_are_named_with_alias(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    acme_runtime(db)
    gone = without_cara(tmp_path / "gone.yml")
    prepare(Runtime(acme_runtime(db, ingest=False).settings, db, str(gone)))  # a sync: her aliases are nobody's now
    common = ("--db", db, "--config", str(gone))

    first = tokenworth("forget", "--email", CARA, "--requested-by", "dpo", *common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Forgot {CARA}: removed usage ")
    assert "warning: no feed identity was linked to them any more" in first.stderr
    engine = acme_runtime(db, gone, ingest=False).engine
    assert "cara-codes" in everything(engine)  # the GitHub login is an alias only the config knew

    second = tokenworth("forget", "--email", CARA, "--alias", "github:Cara-Codes", "--alias", "github_id:91015939",
                        *common, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "cara-codes" not in everything(engine) and "91015939" not in everything(engine)
    bad = tokenworth("forget", "--email", CARA, "--alias", "github", *common, cwd=tmp_path)
    assert bad.returncode == 2 and "expected KIND:VALUE" in bad.stderr


def test_parse_alias_uses_the_stored_kind_and_case() -> None:
    assert parse_alias("github:Cara-Codes").value == "cara-codes"
    assert parse_alias("api_keys:Key_AbC").kind == "api_key" and parse_alias("api_keys:Key_AbC").value == "Key_AbC"


def test_a_later_ingest_of_old_files_brings_nothing_of_a_forgotten_person_back(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    runtime = acme_runtime(db)
    theirs = cara_identities(runtime.engine)
    gone = Runtime(runtime.settings, db, str(without_cara(tmp_path / "gone.yml")))  # the config first
    forget(gone.engine, gone.config, CARA)

    prepare(gone)  # what `tokenworth ingest` does first: migrate, sync the directory
    reports = ingest_paths(gone.engine, FEED_FILES, config=gone.config)  # the same old files, again

    assert not any(r.unusable for r in reports)
    dump = everything(gone.engine)
    for trace in (CARA, *(value.lower() for _, value in theirs)):
        assert trace not in dump, trace
