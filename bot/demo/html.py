"""Block Kit and Adaptive Cards as simple HTML pages, so `make screenshots` can show what people see.

A small, faithful-enough renderer for the elements tokenworth sends (headers, sections and fields,
context, dividers, images; TextBlocks, FactSets, Images, Containers and ColumnSets), not a clone of
Slack's or Teams' styles. Invariant: every text is HTML-escaped before any markup is added, so a
name or a feed value can never inject markup into the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]+))?>")
_BOLD, _ITALIC, _STRIKE, _CODE = (re.compile(p) for p in (r"\*([^*\n]+)\*", r"(?<!\w)_([^_\n]+)_(?!\w)",
                                                            r"~([^~\n]+)~", r"`([^`\n]+)`"))
_MD_BOLD, _MD_LINK = re.compile(r"\*\*([^*\n]+)\*\*"), re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")

STYLE = """
body { font: 15px/1.45 "Lato", "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: #1d1c1d; margin: 0;
       background: #f8f8f8; }
* { box-sizing: border-box; }
.frame { width: 768px; margin: 16px; background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 16px 20px; }
.thread .frame { width: 744px; }
.who { font-weight: 700; margin-bottom: 6px; } .who span { color: #616061; font-weight: 400; font-size: 12px; }
h1 { font-size: 18px; margin: 8px 0; } .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 24px; }
.section { margin: 6px 0; } .context { color: #616061; font-size: 13px; margin: 6px 0; }
hr { border: 0; border-top: 1px solid #e8e8e8; margin: 12px 0; } img { max-width: 100%; margin: 6px 0; }
code { background: #f4f4f4; border: 1px solid #e0e0e0; border-radius: 3px; padding: 0 3px; font-size: 13px; }
.card { border-left: 4px solid #6264a7; } .subtle { color: #616061; } .large { font-size: 18px; font-weight: 700; }
table.facts td { padding: 2px 16px 2px 0; vertical-align: top; } table.facts td:first-child { font-weight: 700; }
.columns { display: flex; gap: 16px; } .columns > div { flex: 1; } .thread { margin-left: 24px; }
.label { color: #616061; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; margin: 4px 16px; }
"""


def page(title: str, frames: Iterable[str]) -> str:
    body = "\n".join(frames)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def slack_frame(blocks: list[dict[str, Any]], who: str = "tokenworth", note: str = "", extra: str = "") -> str:
    """One Slack message: the sender line, its blocks, and anything shown under it (uploaded charts)."""
    label = f" <span>{html.escape(note)}</span>" if note else ""
    inner = "".join(block_html(block) for block in blocks)
    return f"<div class='frame'><div class='who'>{html.escape(who)}{label}</div>{inner}{extra}</div>"


def block_html(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h1>{html.escape(block['text']['text'])}</h1>"
    if kind == "divider":
        return "<hr>"
    if kind == "image":
        return image_html(block["image_url"], block.get("alt_text", ""))
    if kind == "context":
        parts = [text_html(e) if e.get("type") != "image" else "" for e in block.get("elements", [])]
        return f"<div class='context'>{' '.join(parts)}</div>"
    if kind == "section":
        text = f"<div>{text_html(block['text'])}</div>" if block.get("text") else ""
        fields = "".join(f"<div>{text_html(f)}</div>" for f in block.get("fields", []))
        return f"<div class='section'>{text}{f'<div class=fields>{fields}</div>' if fields else ''}</div>"
    return f"<div class='context'>({html.escape(str(kind))} block)</div>"


def text_html(text: dict[str, Any]) -> str:
    if text.get("type") == "plain_text":
        return html.escape(text["text"]).replace("\n", "<br>")
    return mrkdwn_html(text["text"])


def mrkdwn_html(text: str) -> str:
    """Slack mrkdwn: its entities undone, escaped for HTML, then links, bold, italic, strike and code marked up."""
    out, last = [], 0
    for match in _SLACK_LINK.finditer(text):
        out.append(_marked(text[last:match.start()]))
        target, label = match[1], match[2] or match[1]
        shown = _marked(label)
        out.append(f"<a href='{html.escape(target)}'>{shown}</a>" if target.startswith("http") else shown)
        last = match.end()
    out.append(_marked(text[last:]))
    return "".join(out).replace("\n", "<br>")


def _marked(segment: str) -> str:
    escaped = html.escape(html.unescape(segment), quote=False)
    for pattern, tag in ((_CODE, "code"), (_BOLD, "b"), (_ITALIC, "i"), (_STRIKE, "s")):
        escaped = pattern.sub(rf"<{tag}>\1</{tag}>", escaped)
    return escaped


def image_html(url: str, alt: str) -> str:
    return f"<img src='{html.escape(url)}' alt='{html.escape(alt)}'>"


def card_frame(card: dict[str, Any], who: str = "tokenworth", note: str = "") -> str:
    """One Teams message carrying an Adaptive Card."""
    label = f" <span>{html.escape(note)}</span>" if note else ""
    inner = "".join(element_html(e) for e in card.get("body", []))
    return f"<div class='frame card'><div class='who'>{html.escape(who)}{label}</div>{inner}</div>"


def element_html(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "TextBlock":
        classes = " ".join(c for c, on in (("subtle", element.get("isSubtle")),
                                            ("large", element.get("size") in ("Large", "ExtraLarge")
                                             or element.get("weight") == "Bolder")) if on)
        return f"<div class='section {classes}'>{markdown_html(element.get('text', ''))}</div>"
    if kind == "FactSet":
        rows = "".join(f"<tr><td>{html.escape(f['title'])}</td><td>{markdown_html(f['value'])}</td></tr>"
                       for f in element.get("facts", []))
        return f"<table class='facts'>{rows}</table>"
    if kind == "Image":
        return image_html(element["url"], element.get("altText", ""))
    if kind == "Container":
        return "<div>" + "".join(element_html(e) for e in element.get("items", [])) + "</div>"
    if kind == "ColumnSet":
        columns = "".join("<div>" + "".join(element_html(e) for e in c.get("items", [])) + "</div>"
                          for c in element.get("columns", []))
        return f"<div class='columns'>{columns}</div>"
    return f"<div class='context'>({html.escape(str(kind))})</div>"


def markdown_html(text: str) -> str:
    """The Markdown subset Adaptive Cards render: bold, italic, links, and "- " bullet lines."""
    escaped = html.escape(text, quote=False)
    escaped = _MD_LINK.sub(lambda m: f"<a href='{html.escape(m[2])}'>{m[1]}</a>", escaped)
    escaped = _MD_BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    lines = [f"• {line[2:]}" if line.startswith("- ") else line for line in escaped.split("\n")]
    return "<br>".join(lines)
