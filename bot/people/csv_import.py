"""`tokenworth people import`: people and their feed identities from a CSV into the config's `people:`.

The CSV is the shape of tests/fixtures/people.csv (one person a line, one column per feed
identity). People are added or updated by email; other people and every other key stay. Only the
`people:` block of the YAML is rewritten, so comments elsewhere in the file survive.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config.org import parse_config
from bot.errors import ConfigError

# CSV column -> config alias kind. Columns not named here (cursor_user_id, copilot_seat, tools, ...)
# describe a person but join no feed, so they are ignored.
COLUMN_ALIASES = {
    "github_login": "github",
    "github_user_id": "github_id",
    "cursor_email": "cursor",
    "anthropic_account_id": "anthropic_account",
    "anthropic_api_key_ids": "api_keys",
    "openai_api_key_ids": "api_keys",
    "openai_user_id": "openai_user",
    "litellm_user": "litellm",
    "jira_account_id": "jira",
    "linear_user_id": "linear",
    "otel_user_id": "otel",
    "slack_user_id": "slack",
    "teams_user_id": "teams",
}
MULTI_VALUED = frozenset({"api_keys"})
SEPARATOR = "|"


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as the example config does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


@dataclass(frozen=True)
class ImportSummary:
    config_path: Path
    people: int
    added: int
    updated: int


def import_people(path: str | Path) -> list[dict[str, Any]]:
    """The people of a people CSV as config entries (email, name, team, aliases), in file order."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _read_people(csv.DictReader(handle), path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _read_people(reader: csv.DictReader[str], path: Path) -> list[dict[str, Any]]:
    reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames or []]
    if "email" not in reader.fieldnames:
        raise ConfigError(f"{path}: the header needs an email column (got {', '.join(reader.fieldnames) or 'nothing'})")
    people: list[dict[str, Any]] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for row in reader:
        cells = {k: (v or "").strip() for k, v in row.items() if k}
        email = cells.get("email", "").lower()
        if "@" not in email:
            problems.append(f"line {reader.line_num}: email: {cells.get('email', '')!r} is not an email address")
        elif email in first_line:
            problems.append(f"line {reader.line_num}: {email} is already on line {first_line[email]}")
        else:
            first_line[email] = reader.line_num
            people.append(_person(email, cells))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return people


def _person(email: str, cells: dict[str, str]) -> dict[str, Any]:
    person: dict[str, Any] = {"email": email}
    if cells.get("display_name") or cells.get("name"):
        person["name"] = cells.get("display_name") or cells["name"]
    if cells.get("team"):
        person["team"] = cells["team"]
    aliases: dict[str, list[str]] = {}
    for column, kind in COLUMN_ALIASES.items():
        values = [v.strip() for v in cells.get(column, "").split(SEPARATOR) if v.strip()]
        for value in values:
            if value not in aliases.setdefault(kind, []):
                aliases[kind].append(value)
    person["aliases"] = {k: v if k in MULTI_VALUED else v[0] for k, v in aliases.items() if v}
    return person


def merge_people(raw: dict[str, Any], imported: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, int]:
    """The config's people with the imported ones added or updated by email; (people, added, updated).

    An imported alias kind replaces that kind's values; kinds the CSV leaves empty are kept.
    """
    people = [dict(p) if isinstance(p, dict) else p for p in raw.get("people") or []]
    by_email = {str(p.get("email", "")).strip().lower(): p for p in people if isinstance(p, dict)}
    added = updated = 0
    for person in imported:
        current = by_email.get(person["email"])
        if current is None:
            people.append(person)
            by_email[person["email"]] = person
            added += 1
            continue
        current.update({k: v for k, v in person.items() if k != "aliases"})
        current["aliases"] = {**(current.get("aliases") or {}), **person["aliases"]}
        updated += 1
    return people, added, updated


def import_into_config(csv_path: str | Path, config_path: str | Path) -> ImportSummary:
    """Merge a people CSV into a config file, which is only written when the result is valid."""
    config_path = Path(config_path)
    imported = import_people(csv_path)
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: the top level must be a mapping")
    _check_teams(raw, imported, Path(csv_path), config_path)
    people, added, updated = merge_people(raw, imported)
    merged = {**raw, "people": people}
    try:
        parse_config(merged, source=str(config_path))
    except ConfigError as exc:
        raise ConfigError(
            f"importing {csv_path} would make the config invalid, so it was left as it was: {exc}"
        ) from None
    _write_atomically(config_path, _rewritten(text, merged))
    return ImportSummary(config_path, len(imported), added, updated)


def _check_teams(raw: dict[str, Any], imported: list[dict[str, Any]], csv_path: Path, config_path: Path) -> None:
    known = {t.get("name") for t in raw.get("teams") or [] if isinstance(t, dict)}
    missing = sorted({p["team"] for p in imported if "team" in p} - known)
    if missing:
        raise ConfigError(f"{csv_path} names teams that {config_path} does not define: {', '.join(missing)} "
                          f"(add them under teams:, with their channels, first)")


def _rewritten(text: str, merged: dict[str, Any]) -> str:
    """The config text with only its `people:` block replaced; a full dump if the surgery would not round-trip."""
    block = _dump({"people": merged["people"]})
    candidate = _replace_block(text, "people", block)
    try:
        if yaml.safe_load(candidate) == merged:
            return candidate
    except yaml.YAMLError:
        pass
    return _dump(merged)


def _replace_block(text: str, key: str, block: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"{key}\s*:", line)), None)
    if start is None:
        return text + ("" if not text or text.endswith("\n") else "\n") + block
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t-#"):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # comments and blank lines just before the next key belong to that key
    return "".join(lines[:start]) + block + "".join(lines[end:])


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
