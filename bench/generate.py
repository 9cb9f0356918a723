"""Synthetic inputs at organisation scale, written fast, streaming and deterministic.

Every value comes from the index of the line (a cheap multiplicative hash), so the same
arguments always give byte-identical files, and no generator holds more than one batch.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

MODELS = (
    ("gpt-5", "openai"), ("gpt-5-mini", "openai"), ("claude-sonnet-4-6", "anthropic"),
    ("claude-opus-4-6", "anthropic"), ("claude-haiku-4-5", "anthropic"), ("gemini-2.5-pro", "gemini"),
)
LINES_PER_WRITE = 20_000


def person_email(index: int) -> str:
    return f"p{index:05d}@bench.test"


def _mix(value: int) -> int:
    """A cheap deterministic scramble of an integer (Knuth's multiplicative hash)."""
    return (value * 2654435761) & 0xFFFFFFFF


def litellm_spend_log(path: Path, events: int, people: int, days: int, first_day: date) -> Path:
    """JSON-lines LiteLLM spend logs, about 500 bytes a line: one request per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    day_names = [str(first_day + timedelta(days=n)) for n in range(days)]
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for start in range(0, events, LINES_PER_WRITE):
            stop = min(events, start + LINES_PER_WRITE)
            out.write("".join(_spend_line(i, people, day_names[i * days // events]) for i in range(start, stop)))
    partial.replace(path)
    return path


def _spend_line(i: int, people: int, day: str) -> str:
    h = _mix(i)
    model, provider = MODELS[h % len(MODELS)]
    user = person_email(h % people)
    prompt = 200 + h % 40_000
    cached = (prompt // 2) if h & 1 else 0
    completion = 50 + (h >> 7) % 4_000
    spend = (prompt * 1.25 + completion * 10) / 1_000_000
    clock = f"{(h >> 3) % 24:02d}:{(h >> 8) % 60:02d}:{(h >> 14) % 60:02d}.{h % 1000:03d}000"
    return (
        f'{{"request_id":"chatcmpl-{i:012d}","call_type":"acompletion","api_key":"k{h % 5000:06d}",'
        f'"spend":{spend:.8f},"total_tokens":{prompt + completion},"prompt_tokens":{prompt},'
        f'"completion_tokens":{completion},"startTime":"{day}T{clock}+00:00",'
        f'"model":"{model}","model_group":"{model}","custom_llm_provider":"{provider}",'
        f'"user":"{user}","metadata":{{"user_api_key_alias":"{user}-laptop",'
        f'"user_api_key_user_id":"{user}","status":"success","additional_usage_values":{{"prompt_tokens_details":'
        f'{{"cached_tokens":{cached}}}}}}},'
        f'"request_tags":["team:t{h % 1000:04d}"],"status":"success"}}\n'
    )


def org_config(path: Path, people: int, team_size: int) -> Path:
    """The org's tokenworth.yml: teams of `team_size`, each person with a GitHub login."""
    teams = max(1, people // team_size)
    lines = ["teams:"]
    lines += [f"  - {{name: t{t:04d}, slack_channel: '#t{t:04d}', managers: [{person_email(t * team_size)}]}}"
              for t in range(teams)]
    lines.append("people:")
    lines += [f"  - {{email: {person_email(p)}, name: Person {p}, team: t{p % teams:04d}, "
              f"aliases: {{github: gh{p:05d}}}}}"
              for p in range(people)]
    lines.append("policy: {min_group_size: 5}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CC_MODELS = ("claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5")


def claude_code_pages(folder: Path, people: int, days: int, first_day: date) -> Path:
    """Claude Code Analytics: one page per UTC day, a record per person who worked that day."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(days):
        day = first_day + timedelta(days=n)
        path = folder / f"{day}.json"
        if path.exists():
            continue
        records = ",\n".join(r for p in range(people) if (r := _claude_code_record(p, n, day)))
        partial = path.with_suffix(".partial")
        partial.write_text(f'{{"data": [\n{records}\n], "has_more": false, "next_page": null}}\n', encoding="utf-8")
        partial.replace(path)
    return folder


def _claude_code_record(person: int, n: int, day: date) -> str | None:
    h = _mix(person * 7919 + n * 104_729 + 1)
    if h % 100 >= (15 if day.weekday() >= 5 else 90):
        return None
    uncached = 50_000 + h % 400_000
    model = CC_MODELS[person % 7 % len(CC_MODELS)]
    cents = round(uncached * 0.0009 + (h % 997) / 10, 2)
    return (
        f'{{"actor":{{"type":"user_actor","email_address":"{person_email(person)}"}},'
        f'"core_metrics":{{"commits_by_claude_code":{h % 6},"num_sessions":{1 + h % 12},'
        f'"lines_of_code":{{"added":{10 + h % 900},"removed":{h % 300}}},"pull_requests_by_claude_code":{h % 3}}},'
        f'"customer_type":"api","date":"{day}T00:00:00Z","is_remote":false,"terminal_type":"vscode",'
        f'"model_breakdown":[{{"estimated_cost":{{"amount":{cents},"currency":"USD"}},"model":"{model}",'
        f'"tokens":{{"cache_creation":{uncached * 2},"cache_read":{uncached * 12},"input":{uncached},'
        f'"output":{uncached // 3}}}}}],'
        f'"tool_actions":{{"edit_tool":{{"accepted":{5 + h % 50},"rejected":{h % 9}}}}}}}'
    )
