"""`make bench`: tokenworth at organisation scale, beside DuckDB as the ceiling for ingest.

Writes bench/results.json and prints a table. `--scale tiny` runs every code path in seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.generate import claude_code_pages, litellm_spend_log, org_config, person_email
from bench.history import build_history
from bench.measure import ROOT, commit, machine, percentile

SECRET = "bench-signing-secret"
LAST_DAY = date(2026, 11, 22)  # a Sunday: the last full week is 2026-W47


@dataclass(frozen=True)
class Scale:
    name: str
    events: int  # LiteLLM spend-log lines, over `gateway_people` (many, then few) x GATEWAY_DAYS
    gateway_people: tuple[int, int]
    steps: tuple[int, ...]  # smaller logs, for how time grows with events
    cc_people: int
    cc_days: int
    people: int
    team_size: int
    history_days: int
    me_samples: int
    clients: int
    requests_per_client: int


SCALES = {
    "full": Scale("full", 2_000_000, (5_000, 500), (500_000, 1_000_000), 10_000, 90, 10_000, 10, 365, 1_000, 20, 25),
    "tiny": Scale("tiny", 2_000, (50, 5), (500, 1_000), 50, 3, 50, 10, 21, 20, 4, 3),
}
GATEWAY_DAYS = 28
LARGE_ORG_DAY = 40_000_000  # gateway requests in one day of a large org
# The schema before rollups stored one row per request: 74,096,640 bytes for 200,000 requests over 5,000 people x
# 28 days, measured on this machine at commit ebceb7d (the request id's unique index, two day indexes, every column).
BYTES_PER_EVENT_BEFORE = 74_096_640 / 200_000
TARGETS = {  # (section, figure): (bound, "min" or "max")
    ("ingest_litellm", "events_per_second"): (200_000, "min"),
    ("ingest_litellm", "ratio_to_duckdb"): (0.5, "min"),
    ("ingest_litellm", "peak_rss_mb"): (300, "max"),
    ("ingest_litellm", "growth_vs_before"): (0.25, "max"),
    ("ingest_litellm", "growth_vs_before_few_people"): (0.1, "max"),
    ("ingest_litellm", "again_seconds"): (3, "max"),
    ("me", "p99_ms"): (25, "max"),
    ("slash_command", "ack_p99_ms"): (200, "max"),
    ("digest", "per_team_p99_ms"): (100, "max"),
}


def child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.child", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench.child {args[0]} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def figure(value: float, unit: str) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": unit}


def gateway_log(data: Path, events: int, people: int) -> Path:
    log = data / f"litellm-{events}-{people}x{GATEWAY_DAYS}.jsonl"
    if not log.exists():
        litellm_spend_log(log, events, people, GATEWAY_DAYS, LAST_DAY - timedelta(days=GATEWAY_DAYS - 1))
    return log


def ingest_litellm(scale: Scale, data: Path) -> dict[str, Any]:
    """The issue's targets: beside DuckDB on the same file, memory, database growth, re-ingest, time per size."""
    many, few = scale.gateway_people
    log = gateway_log(data, scale.events, many)
    ours = child("ingest", str(log), str(data / "ingest-litellm.db"), "again")
    rate = ours["records"] / ours["seconds"]
    before = BYTES_PER_EVENT_BEFORE * ours["records"]
    sparse = child("ingest", str(gateway_log(data, scale.events, few)), str(data / "ingest-litellm-few.db"))
    figures = {
        "file_mb": figure(log.stat().st_size / 2**20, "MiB"), "events": figure(ours["records"], "events"),
        "rejected": figure(ours["rejected"], "events"), "seconds": figure(ours["seconds"], "s"),
        "events_per_second": figure(rate, "events/s"), "peak_rss_mb": figure(ours["peak_rss_mb"], "MiB"),
        "db_bytes_per_event": figure(ours["db_growth_bytes"] / ours["records"], f"bytes ({many} people)"),
        "growth_vs_before": figure(ours["db_growth_bytes"] / before, f"x one row per event ({many} people)"),
        "growth_vs_before_few_people": figure(sparse["db_growth_bytes"] / before, f"x one row an event ({few} people)"),
        "again_seconds": figure(ours["again_seconds"], "s (same file again, not parsed)"),
    }
    timed = [(step, child("ingest", str(gateway_log(data, step, many)), str(data / "ingest-step.db"))["seconds"])
             for step in scale.steps]
    for step, seconds in [*timed, (scale.events, ours["seconds"])]:
        figures[f"seconds_{step}_events"] = figure(seconds, "s")
    (small, small_seconds), large = timed[-1], (scale.events, ours["seconds"])
    per_event = (large[1] - small_seconds) / (large[0] - small)
    figures["seconds_40m_events"] = figure(large[1] + per_event * (LARGE_ORG_DAY - large[0]), "s (extrapolated)")
    duck = child("duckdb", str(log))
    if duck.get("missing"):
        return figures
    duck_rate = duck["requests"] / duck["seconds"]
    return {
        **figures,
        "duckdb_seconds": figure(duck["seconds"], "s"), "duckdb_events_per_second": figure(duck_rate, "events/s"),
        "duckdb_groups": figure(duck["groups"], "(person, day, model) groups"),
        "duckdb_threads": figure(float(duck["threads"]), "threads"),
        "ratio_to_duckdb": figure(rate / duck_rate, "x"),
    }


def ingest_claude_code(scale: Scale, data: Path) -> dict[str, Any]:
    pages = claude_code_pages(data / f"claude-code-{scale.cc_people}x{scale.cc_days}", scale.cc_people, scale.cc_days,
                              LAST_DAY - timedelta(days=scale.cc_days - 1))
    ours = child("ingest", str(pages), str(data / "ingest-claude-code.db"))
    return {
        "files": figure(ours["files"], "files"), "records": figure(ours["records"], "records"),
        "rejected": figure(ours["rejected"], "records"), "seconds": figure(ours["seconds"], "s"),
        "records_per_second": figure(ours["records"] / ours["seconds"], "records/s"),
        "peak_rss_mb": figure(ours["peak_rss_mb"], "MiB"),
    }


def history(scale: Scale, data: Path) -> tuple[Path, Path, list[str]]:
    config = org_config(data / f"org-{scale.people}.yml", scale.people, scale.team_size)
    db = build_history(data / f"history-{scale.people}x{scale.history_days}.db", config, scale.people,
                       scale.history_days, LAST_DAY)
    from bot.core.weeks import Week
    from storage import make_engine, upgrade

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)  # a reused database gets this commit's schema (and indexes) before anything is measured
    engine.dispose()

    weeks = sorted({str(Week.of(LAST_DAY - timedelta(days=d))) for d in range(0, scale.history_days - 6, 7)})
    return db, config, weeks


def me(scale: Scale, db: Path, config: Path, weeks: list[str]) -> dict[str, Any]:
    got = child("me", str(db), str(config), str(scale.me_samples), ",".join(weeks))
    return {"samples": figure(got["samples"], "person-weeks"), "p50_ms": figure(got["p50_ms"], "ms"),
            "p99_ms": figure(got["p99_ms"], "ms"), "peak_rss_mb": figure(got["peak_rss_mb"], "MiB")}


def digest(db: Path, config: Path, week: str) -> dict[str, Any]:
    got = child("digest", str(db), str(config), week)
    return {"teams": figure(got["teams"], "teams"), "charts": figure(got["charts"], "PNG charts"),
            "seconds": figure(got["seconds"], "s"), "per_team_p50_ms": figure(got["p50_ms"], "ms"),
            "per_team_p99_ms": figure(got["p99_ms"], "ms"), "peak_rss_mb": figure(got["peak_rss_mb"], "MiB")}


def slash_command(scale: Scale, db: Path, config: Path, weeks: list[str]) -> dict[str, Any]:
    """Signed `/tokenworth me WEEK` from concurrent clients against the real server; replies go to a fake Slack."""
    import httpx
    from slack_sdk.signature import SignatureVerifier

    sys.path.insert(0, str(ROOT))
    from tests.fakes.slack_api import TOKEN, FakeSlack

    slack = FakeSlack().start()
    askers = [(f"U{p:07d}", person_email(p)) for p in range(0, scale.people, max(1, scale.people // 200))]
    for user, email in askers:
        slack.add_user(email, user)
    server = subprocess.Popen([sys.executable, "-m", "bench.child", "serve", str(db), str(config), slack.api_url,
                               SECRET, TOKEN], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{json.loads(server.stdout.readline())['port']}"
        acks: list[float] = []
        replies: list[float] = []
        failures: list[str] = []

        def client(number: int) -> None:
            signer = SignatureVerifier(SECRET)
            with httpx.Client(timeout=30) as http:
                for k in range(scale.requests_per_client):
                    user, _ = askers[(number * 7 + k * 13) % len(askers)]
                    hook = f"c{number}-{k}"
                    body = urlencode({"team_id": "T0BENCH", "channel_id": "C0BENCH", "user_id": user,
                                      "command": "/tokenworth", "text": f"me {weeks[(number + k) % len(weeks)]}",
                                      "response_url": f"{slack.url}/respond/{hook}", "trigger_id": hook})
                    stamp = str(int(time.time()))
                    headers = {"X-Slack-Request-Timestamp": stamp, "Content-Type": "application/x-www-form-urlencoded",
                               "X-Slack-Signature": signer.generate_signature(timestamp=stamp, body=body)}
                    started = time.perf_counter()
                    response = http.post(f"{base}/slack/events", content=body, headers=headers)
                    acks.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        failures.append(f"{hook}: HTTP {response.status_code}")
                    reply = _wait_reply(slack, f"/respond/{hook}", 60)
                    if reply is None or (
                        "Total spend" not in str(reply.get("text")) and "week" not in str(reply.get("text"))
                    ):
                        failures.append(f"{hook}: no answer ({reply})")
                    replies.append((time.perf_counter() - started) * 1000)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(scale.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        server.communicate(input="", timeout=30)
        slack.stop()
    if failures:
        raise SystemExit(f"slash command: {len(failures)} failed, e.g. {failures[:3]}")
    return {"clients": figure(scale.clients, "concurrent clients"), "requests": figure(len(acks), "requests"),
            "ack_p50_ms": figure(percentile(acks, 0.5), "ms"), "ack_p99_ms": figure(percentile(acks, 0.99), "ms"),
            "reply_p50_ms": figure(percentile(replies, 0.5), "ms"),
            "reply_p99_ms": figure(percentile(replies, 0.99), "ms"),
            "seconds": figure(seconds, "s")}


def _wait_reply(slack: Any, path: str, seconds: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [r for r in slack.responses[-200:] if r["path"] == path]
        if found:
            return found[0]
        time.sleep(0.005)
    return None


def run(scale: Scale, data: Path, out: Path, echo: Any = print, only: set[str] | None = None) -> dict[str, Any]:
    """Every section, or with `only` just those, merged into the results already in `out`."""
    data.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if only and out.exists() else {}
    sections: dict[str, dict[str, Any]] = dict(previous.get("sections", {}))
    timed: dict[str, float] = dict(previous.get("section_seconds", {}))

    def section(name: str, work: Any, *args: Any) -> None:
        if only and name not in only:
            return
        started = time.perf_counter()
        echo(f"bench: {name} ...")
        sections[name] = work(*args)
        timed[name] = round(time.perf_counter() - started, 1)

    section("ingest_litellm", ingest_litellm, scale, data)
    section("ingest_claude_code", ingest_claude_code, scale, data)
    db, config, weeks = history(scale, data)
    section("me", me, scale, db, config, weeks)
    section("slash_command", slash_command, scale, db, config, weeks)
    section("digest", digest, db, config, weeks[-1])
    for (name, key), (bound, kind) in TARGETS.items():
        if key not in sections.get(name, {}):
            continue
        got = sections[name][key]
        got["target"] = f"{'>=' if kind == 'min' else '<='} {bound}"
        got["met"] = got["value"] >= bound if kind == "min" else got["value"] <= bound
    results = {"scale": json.loads(json.dumps(scale.__dict__)), "machine": machine(), "commit": commit(),
               "run_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "section_seconds": timed,
               "sections": sections}
    for name, figures in sections.items():
        if only and name not in only:
            continue  # figures merged from an earlier run keep the commit they were measured at
        for item in figures.values():
            item["machine"] = f"{results['machine']['cpu']}, {results['machine']['cores']} cores"
            item["commit"] = results["commit"]
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [f"tokenworth bench ({results['scale']['name']}) on {m['cpu']}, {m['cores']} cores, "
             f"{m['memory_gb']} GB, Python {m['python']}; commit {results['commit'][:10]}", ""]
    lines.append(f"{'section':<20} {'figure':<26} {'value':>14} {'unit':<28} target")
    for name, figures in results["sections"].items():
        for key, item in figures.items():
            verdict = "" if "target" not in item else f"{item['target']} {'met' if item['met'] else 'MISSED'}"
            shown = f"{item['value']:>14,.3f}" if abs(item["value"]) < 10 else f"{item['value']:>14,.1f}"
            lines.append(f"{name:<20} {key:<26} {shown} {item['unit']:<28} {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data", help="where generated inputs go")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--only", help="comma-separated sections to re-run, merged into --out "
                        "(ingest_litellm, ingest_claude_code, me, slash_command, digest)")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    results = run(SCALES[args.scale], args.data, args.out, only=only)
    print(table(results))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
