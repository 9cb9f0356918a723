"""Number formatting shared by every rendering (Block Kit, Adaptive Cards, plain text)."""

from __future__ import annotations


def money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def points(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def plural(count: float, one: str, many: str | None = None) -> str:
    """A count with its noun in the right number: `1 merged PR`, `3 merged PRs`, `1 ticket closed`.

    `many` defaults to `one` + "s"; give it when the noun is not last ("tickets closed") or is irregular.
    """
    return f"{points(count)} {one if abs(count) == 1 else (many or one + 's')}"


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def change(now: float | None, before: float | None) -> str:
    """`▲ 12%`-style change from last week, or an empty string when there is nothing to compare."""
    if now is None or before is None:
        return ""
    if before == 0:
        return "" if now == 0 else "(new)"
    delta = (now - before) / abs(before)
    if abs(delta) < 0.005:
        return "(same as last week)"
    return f"({'▲' if delta > 0 else '▼'} {abs(delta):.0%} vs last week)"


TOOL_NAMES = {"claude_code": "Claude Code", "cursor": "Cursor", "copilot": "GitHub Copilot", "litellm": "LLM gateway",
              "anthropic_api": "Anthropic API", "openai_api": "OpenAI API"}


def tool_name(tool: str) -> str:
    return TOOL_NAMES.get(tool, tool)
