"""`digest preview` and `digest admin`: exactly what would be posted, written to a directory."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.weeks import Week
from bot.digest.admin import AdminDigest, load_admin_digest
from bot.digest.build import Digest, load_digest
from bot.digest.charts import charts_for
from bot.runtime import Runtime
from bot.slack.blocks import admin_blocks, admin_fallback, detail_blocks, fallback_text, summary_blocks
from storage.engine import session_scope


def write_preview(runtime: Runtime, team: str, week: Week, out: Path) -> Digest:
    config = runtime.config
    with session_scope(runtime.engine) as session:
        digest = load_digest(session, config, runtime.prices, team, week)
    out.mkdir(parents=True, exist_ok=True)
    message = {
        "text": fallback_text(digest), "blocks": summary_blocks(digest),
        "thread": {"text": f"Details for {digest.team}, {digest.week}", "blocks": detail_blocks(digest)},
    }
    (out / "blocks.json").write_text(json.dumps(message, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "digest.json").write_text(json.dumps(digest.as_json(), indent=2), encoding="utf-8")
    for name, _title, png in charts_for(digest):
        (out / name).write_bytes(png)
    return digest


def write_admin_preview(runtime: Runtime, week: Week, out: Path) -> AdminDigest:
    """The admin digest as it would be posted: blocks.json and its data, in `out`."""
    with session_scope(runtime.engine) as session:
        admin = load_admin_digest(session, runtime.config, runtime.prices, week)
    out.mkdir(parents=True, exist_ok=True)
    message = {"text": admin_fallback(admin), "blocks": admin_blocks(admin)}
    (out / "blocks.json").write_text(json.dumps(message, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "admin.json").write_text(json.dumps(admin.as_json(), indent=2), encoding="utf-8")
    return admin
