"""LiteLLM JSON-lines read by DuckDB with a declared schema: one pass, every record checked as the parser checks it.

Invariant: the columnar pass accepts a file only when it can vouch that every record is one the record-at-a-time
parser (bot.ingest.feeds.litellm) accepts, with the same figures: each field of the declared schema has the JSON
type the parser's model takes, strings that Python would strip or that hold a NUL, times outside a plain ISO
form, a prompt smaller than its cached tokens, a day outside the window, all make it refuse. A refused file (or one
DuckDB cannot read: broken JSON, a line over the limit, not UTF-8) is parsed record by record, so its rejections
have exactly the parser's locations and reasons and its good records are kept. What the pass keeps is, per event,
its ledger key and day, and per rollup its sums; the work reference uses the parser's own function.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from bot.ingest import limits
from bot.ingest.feeds.base import EventSums, IdentityRef, Record, Rejection, UsageRow

SOURCE = "litellm"

MIN_BYTES = 64 * 1024 * 1024  # smaller files are parsed record by record (read at run time: a test may lower it)
KEY_CHUNK = 20_000
MEMORY_LIMIT = "96MB"  # DuckDB spills its table of checked events to disk beyond this
TEXT = ("request_id", "model", "model_group", "custom_llm_provider", "user", "uid", "alias")
SAFE_EDGE = r"[A-Za-z0-9_.:/@+\-]"  # a first and last character Python's strip() keeps for sure
INT = "('UBIGINT', 'BIGINT')"
ISO_TIME = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
            r"(Z|[+-][0-9]{2}:[0-9]{2})?")

_COLUMNS = {name: "JSON" for name in ("request_id", "spend", "prompt_tokens", "completion_tokens", "startTime",
                                      "model", "model_group", "custom_llm_provider", "user", "metadata",
                                      "request_tags")}

_FIELDS = f"""
CREATE TEMP VIEW raw AS
SELECT row_number() OVER () AS ord, request_id, spend, prompt_tokens, completion_tokens, "startTime" AS st,
       model, model_group, custom_llm_provider, "user", metadata, request_tags,
       json_extract(metadata, ['$.user_api_key_user_id', '$.user_api_key_alias', '$.spend_logs_metadata',
         '$.additional_usage_values', '$.additional_usage_values.prompt_tokens_details',
         '$.additional_usage_values.prompt_tokens_details.cached_tokens',
         '$.additional_usage_values.cache_creation_input_tokens', '$.usage_object',
         '$.usage_object.prompt_tokens_details', '$.usage_object.prompt_tokens_details.cached_tokens',
         '$.usage_object.cache_creation_input_tokens']) AS mv
FROM read_json($path, format = 'newline_delimited', columns = {_COLUMNS!r})
"""

_CHECKED = f"""
CREATE TEMP TABLE ev AS
WITH t AS (
  SELECT ord, request_id->>'$' AS rid, json_type(request_id) AS t_rid,
    TRY_CAST(spend AS DOUBLE) AS spend, json_type(spend) AS t_spend,
    TRY_CAST(prompt_tokens AS BIGINT) AS pt, json_type(prompt_tokens) AS t_pt,
    TRY_CAST(completion_tokens AS BIGINT) AS ct, json_type(completion_tokens) AS t_ct,
    st->>'$' AS st, json_type(st) AS t_st,
    model->>'$' AS m, json_type(model) AS t_m, model_group->>'$' AS mg, json_type(model_group) AS t_mg,
    custom_llm_provider->>'$' AS cl, json_type(custom_llm_provider) AS t_cl,
    "user"->>'$' AS u, json_type("user") AS t_u, mv[1]->>'$' AS uid, json_type(mv[1]) AS t_uid,
    mv[2]->>'$' AS alias, json_type(mv[2]) AS t_alias,
    CASE WHEN starts_with(CAST(metadata AS VARCHAR), '{{') THEN 'OBJECT' END AS t_meta,
    json_type(mv[3]) AS t_slm, CAST(mv[3] AS VARCHAR) AS slm, json_type(request_tags) AS t_tags,
    CAST(request_tags AS VARCHAR) AS tags,
    json_type(mv[4]) AS t_a, json_type(mv[5]) AS t_ad, json_type(mv[6]) AS t_ac, TRY_CAST(mv[6] AS BIGINT) AS ac,
    json_type(mv[7]) AS t_aw, TRY_CAST(mv[7] AS BIGINT) AS aw,
    json_type(mv[8]) AS t_b, json_type(mv[9]) AS t_bd, json_type(mv[10]) AS t_bc, TRY_CAST(mv[10] AS BIGINT) AS bc,
    json_type(mv[11]) AS t_bw, TRY_CAST(mv[11] AS BIGINT) AS bw,
  FROM raw
), c AS (
  SELECT *, contains(concat(rid, m, mg, cl, u, uid, alias), chr(0)) AS nul,
    CASE WHEN t_a = 'OBJECT' AND (coalesce(ac, 0) > 0 OR coalesce(aw, 0) > 0) THEN 'a'
         WHEN t_b = 'OBJECT' AND (coalesce(bc, 0) > 0 OR coalesce(bw, 0) > 0) THEN 'b' END AS cache_from,
    CASE WHEN coalesce(mg, '') <> '' THEN mg ELSE m END AS model_name,
    CASE WHEN coalesce(u, '') <> '' THEN u WHEN coalesce(uid, '') <> '' THEN uid
         WHEN coalesce(alias, '') <> '' THEN alias END AS who,
    TRY_CAST(st AS TIMESTAMPTZ) AS started
  FROM t
), v AS (
  SELECT *,
    CASE cache_from WHEN 'a' THEN coalesce(ac, 0) WHEN 'b' THEN coalesce(bc, 0) ELSE 0 END AS cached,
    CASE cache_from WHEN 'a' THEN coalesce(aw, 0) WHEN 'b' THEN coalesce(bw, 0) ELSE 0 END AS written,
    DATE '1970-01-01' + CAST(floor(epoch(started) / 86400) AS INTEGER) AS utc_day  -- whatever DuckDB's time zone
  FROM c
)
SELECT ord, unhex(md5('litellm' || chr(31) || rid)) AS key, utc_day AS day, who, model_name,
  CASE WHEN coalesce(cl, '') = '' THEN 'unknown' ELSE cl END AS provider, pt - cached - written AS input_tokens,
  ct AS output_tokens, cached, written, spend, tags, slm,
  (t_rid = 'VARCHAR' AND length(rid) >= 1 AND NOT nul
   AND t_spend IN ('DOUBLE', 'UBIGINT', 'BIGINT') AND isfinite(spend) AND spend >= 0
   AND t_pt IN {INT} AND pt >= 0 AND t_ct IN {INT} AND ct >= 0
   AND t_st = 'VARCHAR' AND started IS NOT NULL AND regexp_full_match(st, '{ISO_TIME}')
   AND utc_day BETWEEN $earliest AND $latest
   AND t_m = 'VARCHAR' AND (t_mg IS NULL OR t_mg IN ('VARCHAR', 'NULL'))
   AND regexp_full_match(model_name, '{SAFE_EDGE}(.*{SAFE_EDGE})?', 's')
   AND (t_cl IS NULL OR t_cl = 'NULL' OR cl = '' OR (t_cl = 'VARCHAR'
        AND regexp_full_match(cl, '{SAFE_EDGE}(.*{SAFE_EDGE})?', 's')))
   AND (t_u IS NULL OR t_u IN ('VARCHAR', 'NULL')) AND (t_uid IS NULL OR t_uid IN ('VARCHAR', 'NULL'))
   AND (t_alias IS NULL OR t_alias IN ('VARCHAR', 'NULL'))
   AND regexp_full_match(who, '{SAFE_EDGE}(.*{SAFE_EDGE})?', 's')
   AND t_meta = 'OBJECT' AND (t_slm IS NULL OR t_slm IN ('OBJECT', 'NULL'))
   AND (t_tags IS NULL OR t_tags IN ('ARRAY', 'NULL'))
   AND (t_a IS NULL OR t_a IN ('OBJECT', 'NULL')) AND (t_b IS NULL OR t_b IN ('OBJECT', 'NULL'))
   AND (t_ad IS NULL OR t_ad IN ('OBJECT', 'NULL')) AND (t_bd IS NULL OR t_bd IN ('OBJECT', 'NULL'))
   AND (t_ac IS NULL OR t_ac = 'NULL' OR (t_ac IN {INT} AND ac >= 0))
   AND (t_aw IS NULL OR t_aw = 'NULL' OR (t_aw IN {INT} AND aw >= 0))
   AND (t_bc IS NULL OR t_bc = 'NULL' OR (t_bc IN {INT} AND bc >= 0))
   AND (t_bw IS NULL OR t_bw = 'NULL' OR (t_bw IN {INT} AND bw >= 0))
   AND pt - cached - written >= 0) AS ok
FROM v
"""


class ColumnarSpendLog(EventSums):
    """A LiteLLM JSON-lines file every record of which the columnar pass vouched for (see the module's invariant)."""

    source = "litellm"

    def __init__(self, connection: Any, path: Path, events: int, repeats: int,
                 records: Callable[[], Iterator[Record | Rejection]]) -> None:
        self.connection = connection
        self.location = f"line 1 to the end ({events:,} events read at once)"
        self.events = events
        self.repeats = repeats
        self._records = records

    def keys(self) -> Iterator[list[tuple[date, bytes]]]:
        result = self.connection.execute("SELECT day, key FROM ev WHERE first ORDER BY ord")
        while chunk := result.fetchmany(KEY_CHUNK):
            yield [(day, bytes(key)) for day, key in chunk]

    def identities(self) -> set[IdentityRef]:
        from bot.ingest.feeds.litellm import _person

        return {_person(who) for (who,) in self.connection.execute("SELECT DISTINCT who FROM ev").fetchall()}

    def sums(self, excluded: set[bytes]) -> Iterator[list[UsageRow]]:
        from bot.ingest.feeds.litellm import _model, _person, work_ref  # that module reads files with this one

        con = self.connection
        pairs = con.execute("SELECT DISTINCT tags, slm FROM ev WHERE tags IS NOT NULL OR slm IS NOT NULL").fetchall()
        refs = [(tags, slm, ref) for tags, slm in pairs if (ref := work_ref(_loaded(tags), _loaded(slm)))]
        con.execute("CREATE OR REPLACE TEMP TABLE refs AS SELECT unnest(?) AS tags, unnest(?) AS slm, "
                    "unnest(?) AS work_ref", [[r[0] for r in refs], [r[1] for r in refs], [r[2] for r in refs]])
        con.execute("CREATE OR REPLACE TEMP TABLE excluded AS SELECT unnest(?::BLOB[]) AS key", [list(excluded)])
        joined = ("LEFT JOIN refs r ON ev.tags IS NOT DISTINCT FROM r.tags AND ev.slm IS NOT DISTINCT FROM r.slm"
                  if refs else "LEFT JOIN (SELECT NULL AS work_ref) r ON true")  # nothing names work: no join
        unheld = "AND NOT EXISTS (SELECT 1 FROM excluded x WHERE x.key = ev.key)" if excluded else ""
        result = con.execute(f"""
            SELECT who, day, provider, model_name, coalesce(r.work_ref, ''), sum(input_tokens), sum(output_tokens),
                   sum(cached), sum(written), count(*), sum(spend)
            FROM ev {joined} WHERE first {unheld} GROUP BY ALL""")
        while rows := result.fetchmany(KEY_CHUNK):
            yield [UsageRow(source=SOURCE, record_key="", identity=_person(who), day=day, provider=provider,
                            tool="litellm", model=_model(model), input_tokens=int(fresh), output_tokens=int(out),
                            cache_read_tokens=int(cached), cache_write_tokens=int(written), requests=int(requests),
                            cost_usd=float(spend), billing="gateway", work_ref=ref)
                   for who, day, provider, model, ref, fresh, out, cached, written, requests, spend in rows]

    def records(self) -> Iterator[Record | Rejection]:
        return self._records()

    def close(self) -> None:
        self.connection.close()


def _loaded(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def read(path: Path, window: tuple[date, date],
         records: Callable[[], Iterator[Record | Rejection]]) -> ColumnarSpendLog | None:
    """The file read and vouched for by DuckDB, or None: too small to be worth it, DuckDB missing, or a record
    (or the file) the columnar pass cannot vouch for; the caller then parses it record by record."""
    try:
        import duckdb
    except ImportError:
        return None
    if os.path.getsize(path) < MIN_BYTES:
        return None
    connection = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": tempfile.gettempdir()})
    try:
        connection.execute("SET TimeZone = 'UTC'")  # a time without an offset is UTC, as the parser reads it
    except duckdb.Error:
        pass  # no time zone support loaded: times are UTC already
    try:
        quoted = "'" + str(path).replace("'", "''") + "'"  # a view takes no parameters
        connection.execute(_FIELDS.replace("$path", quoted).replace("$limit", str(int(limits.MAX_JSON_BYTES) + 1)))
        earliest, latest = (f"DATE '{day.isoformat()}'" for day in window)
        connection.execute(_CHECKED.replace("$earliest", earliest).replace("$latest", latest))
        connection.execute("DROP VIEW raw")
        found = connection.execute(
            "SELECT count(*) FILTER (WHERE ok IS NOT TRUE), count(*), count(DISTINCT key) FROM ev").fetchone()
    except duckdb.Error:
        connection.close()
        return None
    bad, count, distinct = found if found is not None else (1, 0, 0)
    if bad or not count:
        connection.close()
        return None
    first = "true" if distinct == count else "ord = min(ord) OVER (PARTITION BY key)"
    connection.execute(f"CREATE OR REPLACE TEMP TABLE ev AS SELECT *, {first} AS first FROM ev")
    return ColumnarSpendLog(connection, path, count, count - distinct, records)
