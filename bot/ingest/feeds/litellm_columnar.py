"""LiteLLM JSON-lines read by DuckDB with a declared schema: one pass, every record checked as the parser checks it.

Invariant: the columnar pass accepts a file only when it can vouch that every record is one the record-at-a-time
parser (bot.ingest.feeds.litellm) accepts, with the same figures: each field of the declared schema has the JSON
type the parser's model takes, strings that Python would strip or that hold a NUL, times outside a plain ISO
form, a prompt smaller than its cached tokens, a day outside the window, all make it refuse. A refused file (or one
DuckDB cannot read: broken JSON, a line over the limit, not UTF-8) is parsed record by record, so its rejections
have exactly the parser's locations and reasons and its good records are kept (so is a file DuckDB runs out of
memory on). What the pass keeps is, per request, its ledger key (MD5, as storage.rollups.event_key) and day, and
per rollup its sums, keyed as storage.rollups.key_of keys it; the person, model and work reference are named by
the parser's own functions, once per distinct value. Only when a request appears twice is the file read again
in order, so that its first copy is the one counted.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bot.ingest import limits
from bot.ingest.feeds.base import EventSums, IdentityRef, Record, Rejection
from storage import ledger, rollups
from storage.rollups import DayKeys

SOURCE = "litellm"

MIN_BYTES = 64 * 1024 * 1024  # smaller files are parsed record by record (read at run time: a test may lower it)
ROWS_AT_ONCE = 5_000  # rollup rows handed over at once (Python tuples: ~4 MB)
KEYS_AT_ONCE = 1_000_000  # ledger keys handed over at once (16 MB)
MEMORY_LIMIT = "128MB"  # DuckDB spills beyond this; the process peaks at ~295 MB on 2M events
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
SELECT $ord AS ord, request_id, spend, prompt_tokens, completion_tokens, "startTime" AS st,
       model, model_group, custom_llm_provider, "user", metadata, request_tags,
       json_extract(metadata, ['$.user_api_key_user_id', '$.user_api_key_alias', '$.spend_logs_metadata',
         '$.additional_usage_values', '$.additional_usage_values.prompt_tokens_details',
         '$.additional_usage_values.prompt_tokens_details.cached_tokens',
         '$.additional_usage_values.cache_creation_input_tokens', '$.usage_object',
         '$.usage_object.prompt_tokens_details', '$.usage_object.prompt_tokens_details.cached_tokens',
         '$.usage_object.cache_creation_input_tokens']) AS mv
FROM read_json($path, format = 'newline_delimited', columns = {_COLUMNS!r}, maximum_object_size = $limit)
"""

_CHECKED = f"""
CREATE TEMP VIEW checked AS
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
SELECT ord, md5_number_upper('litellm' || chr(31) || rid) AS a,
  md5_number_lower('litellm' || chr(31) || rid) AS b, utc_day AS day, who, model_name,
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
    """A LiteLLM JSON-lines file every record of which the columnar pass vouched for (see the module's invariant):
    the first copy of each of its checked requests in a DuckDB table."""

    source = "litellm"

    def __init__(self, connection: Any, path: Path, events: int, repeats: int,
                 records: Callable[[], Iterator[Record | Rejection]]) -> None:
        self.connection = connection
        self.location = f"line 1 to the end ({events:,} events read at once)"
        self.events = events
        self.repeats = repeats
        self._records = records

    def keys(self) -> Iterator[DayKeys]:
        """A day at a time, in slices of at most KEYS_AT_ONCE keys, so memory stays flat for a file of any size."""
        con = self.connection
        for day, count in con.execute("SELECT day, count(*) FROM ev GROUP BY day ORDER BY day").fetchall():
            slices = -(-count // KEYS_AT_ONCE)
            for index in range(slices):
                low, high = (2**64 * index) // slices, (2**64 * (index + 1)) // slices - 1
                found = con.execute("SELECT a, b FROM ev WHERE day = ? AND a BETWEEN ? AND ?",
                                    [day, low, high]).fetchnumpy()
                keys = np.column_stack([np.asarray(found["a"], dtype=np.uint64),
                                        np.asarray(found["b"], dtype=np.uint64)])
                yield np.full(len(keys), day.toordinal(), dtype=np.int64), keys

    def identities(self) -> set[IdentityRef]:
        from bot.ingest.feeds.litellm import _person

        return {_person(who) for (who,) in self.connection.execute("SELECT DISTINCT who FROM ev").fetchall()}

    def rollup_rows(self, ids: dict[tuple[str, str], int], excluded: set[bytes],
                    iso_days: bool) -> Iterator[list[tuple[Any, ...]]]:
        from bot.ingest.feeds.litellm import _model, _person

        con = self.connection
        if excluded:  # requests the ledger held already: summed again without them
            _group(con, excluded)
        con.execute("DROP TABLE ev")  # its sums are in g: the memory is better spent on the joins
        whos = [who for (who,) in con.execute("SELECT DISTINCT who FROM g").fetchall()]
        models = [name for (name,) in con.execute("SELECT DISTINCT model_name FROM g").fetchall()]
        con.execute("CREATE OR REPLACE TEMP TABLE wm AS SELECT unnest(?::VARCHAR[]) AS who, unnest(?::BIGINT[]) AS id",
                    [whos, [ids[(ref.kind, ref.value)] for ref in map(_person, whos)]])
        con.execute("CREATE OR REPLACE TEMP TABLE mm AS SELECT unnest(?::VARCHAR[]) AS model_name, "
                    "unnest(?::VARCHAR[]) AS model", [models, [_model(name) for name in models]])
        _work_refs(con)
        result = con.execute(_ROLLUPS.replace("$day", "CAST(g.day AS VARCHAR)" if iso_days else "g.day"))
        while rows := result.fetchmany(ROWS_AT_ONCE):
            yield rows

    def records(self) -> Iterator[Record | Rejection]:
        return self._records()

    def close(self) -> None:
        self.connection.close()


_NOT_FINITE = "[+-]?[nNiI][aAnN][nNfF]"
_LENIENT = f"""
SELECT count(*) FILTER (WHERE regexp_matches(line, ',[ \\t\\r]*([\\]}}]|{_NOT_FINITE})')
  OR regexp_matches(line, ':[ \\t\\r]*{_NOT_FINITE}') OR regexp_matches(line, '\\[[ \\t\\r]*{_NOT_FINITE}')
  OR CASE WHEN length(line) > 4300 THEN regexp_matches(line, '[0-9]{{1000}}') ELSE false END)
FROM read_csv($path, columns = {{'line': 'VARCHAR'}}, delim = chr(1), quote = '', escape = '', header = false,
              auto_detect = false)
"""  # lines DuckDB's JSON reader takes and Python's refuses: a trailing comma, nan or inf spelled otherwise than
# NaN and Infinity, an integer longer than Python converts (each looked for loosely, literals first, so RE2 is fast)

_KEPT = ("day, a, b, ok, who, provider, model_name, tags, slm, input_tokens, output_tokens, cached, written, "
         "spend")  # of the checked events: what counting and summing them needs

_GROUPED = """
CREATE OR REPLACE TEMP TABLE g AS
SELECT who, day, provider, model_name, tags, slm, sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cached) AS c,
       sum(written) AS w, count(*) AS n, sum(spend) AS s
FROM ev ANTI JOIN x USING (a, b) GROUP BY ALL
"""


_ROLLUPS = f"""
SELECT '{SOURCE}', id, day, provider, 'litellm', model, 'gateway', work_ref,
  '{rollups.ROLLUP_PREFIX}' || translate(left(to_base64(unhex(md5(concat_ws(chr(31), id, CAST(day AS VARCHAR),
    provider, 'litellm', model, 'gateway', work_ref, 'c')))), 16), '+/', '-_'),
  i, o, c, w, 0, n, s
FROM (SELECT wm.id, $day AS day, g.provider, mm.model, coalesce(r.work_ref, '') AS work_ref, sum(i) AS i,
             sum(o) AS o, sum(c) AS c, sum(w) AS w, sum(n) AS n, sum(s) AS s
      FROM g JOIN wm USING (who) JOIN mm USING (model_name)
      LEFT JOIN refs r ON g.tags IS NOT DISTINCT FROM r.tags AND g.slm IS NOT DISTINCT FROM r.slm
      GROUP BY ALL)
ORDER BY 2, 3  -- a person's days together: fewer pages touched in the usage table
"""  # rows as storage.rollups.add_rows takes them, each keyed as storage.rollups.key_of keys it


def _group(con: Any, excluded: set[bytes]) -> None:
    held = ledger.as_keys(excluded)
    con.execute("CREATE OR REPLACE TEMP TABLE x AS SELECT unnest(?::UBIGINT[]) AS a, unnest(?::UBIGINT[]) AS b",
                [held[:, 0].tolist(), held[:, 1].tolist()])
    con.execute(_GROUPED)


def _work_refs(con: Any) -> None:
    """A `refs` table: the work reference (the parser's own function) of each (tags, metadata) pair read."""
    from bot.ingest.feeds.litellm import work_ref

    pairs = con.execute("SELECT DISTINCT tags, slm FROM g WHERE tags IS NOT NULL OR slm IS NOT NULL")
    refs = [(tags, slm, ref) for tags, slm in pairs.fetchall() if (ref := work_ref(_loaded(tags), _loaded(slm)))]
    con.execute("CREATE OR REPLACE TEMP TABLE refs AS SELECT unnest(?::VARCHAR[]) AS tags, "
                "unnest(?::VARCHAR[]) AS slm, unnest(?::VARCHAR[]) AS work_ref",
                [[r[0] for r in refs], [r[1] for r in refs], [r[2] for r in refs]])


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
        connection.execute("SET preserve_insertion_order = false")  # twice as fast; the order is not needed...
        lenient = connection.execute(_LENIENT.replace("$path", _quoted(path))).fetchone()
        if lenient is None or lenient[0]:
            connection.close()
            return None
        _views(connection, path, window, numbered=False)
        connection.execute("SET threads = 1")  # from the checking pass on, two threads would outgrow MEMORY_LIMIT
        connection.execute(f"CREATE TEMP TABLE ev AS SELECT {_KEPT} FROM checked")
        found = connection.execute(
            "SELECT count(*) FILTER (WHERE ok IS NOT TRUE), count(*), count(DISTINCT (a, b)) FROM ev").fetchone()
        bad, count, distinct = found if found is not None else (1, 0, 0)
        if bad or not count:
            connection.close()
            return None
        if distinct < count:  # ...unless a request came twice: then the first copy is the one counted
            connection.execute("SET preserve_insertion_order = true; DROP TABLE ev; DROP VIEW checked; DROP VIEW raw")
            _views(connection, path, window, numbered=True)
            connection.execute(f"CREATE TEMP TABLE ev AS SELECT {_KEPT} FROM (SELECT *, ord = min(ord) OVER "
                               f"(PARTITION BY a, b) AS first FROM checked) WHERE first")
        _group(connection, set())  # summed now, so that running out of memory here means reading it record by record
    except duckdb.Error:
        connection.close()
        return None
    return ColumnarSpendLog(connection, path, count, count - distinct, records)


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"  # a view takes no parameters


def _views(connection: Any, path: Path, window: tuple[date, date], numbered: bool) -> None:
    fields = _FIELDS.replace("$path", _quoted(path)).replace("$ord", "row_number() OVER ()" if numbered else "0")
    # a longer line makes DuckDB fail, so the parser rejects it; above DuckDB's own 16 MiB its buffers outgrow
    # MEMORY_LIMIT, and a longer line falls back to the parser that way
    fields = fields.replace("$limit", str(min(int(limits.MAX_JSON_BYTES), 16 * 2**20)))
    connection.execute(fields)
    earliest, latest = (f"DATE '{day.isoformat()}'" for day in window)
    connection.execute(_CHECKED.replace("$earliest", earliest).replace("$latest", latest))
