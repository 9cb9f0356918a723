"""The HTML renderer behind `make screenshots` (the screenshots themselves need chromium and stay out of the suite)."""

from __future__ import annotations

import pytest

from bot.demo.html import card_frame, mrkdwn_html, page, slack_frame
from bot.demo.screens import INSTALL, main


def test_mrkdwn_is_escaped_before_it_is_marked_up() -> None:
    text = ("*AI spend* _this week_: <https://acme.slack.test/x|the thread> &lt;script&gt;alert(1)&lt;/script&gt; "
            "`/model`")
    shown = mrkdwn_html(text + "\nnext line <script>")
    assert "<b>AI spend</b> <i>this week</i>" in shown
    assert "<a href='https://acme.slack.test/x'>the thread</a>" in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "<code>/model</code>" in shown
    assert "<script>" not in shown and "<br>next line" in shown


def test_block_kit_message_renders_every_block_tokenworth_sends() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Ana <Alvarez> · week 2026-W48"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*AI spend*\n$7.91"},
                                       {"type": "mrkdwn", "text": "*Tokens*\n12.5 M tokens, 81% cache reads"}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "• By tool: Claude Code $732.71"}},
        {"type": "divider"},
        {"type": "image", "image_url": "https://x.test/c.png", "alt_text": "chart"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Only you can see this."}]},
    ]
    html = page("me", [slack_frame(blocks, note="only ana@demo.test sees this")])
    assert "<h1>Ana &lt;Alvarez&gt; · week 2026-W48</h1>" in html
    assert "<div class=fields><div><b>AI spend</b><br>$7.91</div>" in html and "<hr>" in html
    assert "<img src='https://x.test/c.png' alt='chart'>" in html and "class='context'>Only you can see this." in html
    assert html.startswith("<!doctype html>") and "only ana@demo.test sees this" in html


def test_adaptive_card_renders_text_facts_bullets_and_images() -> None:
    card = {"type": "AdaptiveCard", "body": [
        {"type": "TextBlock", "text": "platform · week 2026-W48", "weight": "Bolder"},
        {"type": "FactSet", "facts": [{"title": "AI spend", "value": "$804.15 (▼ 9% vs last week)"}]},
        {"type": "TextBlock", "text": "**Where the money went**\n- By tool: <b>Cursor</b> $58.99", "wrap": True},
        {"type": "Image", "url": "data:image/png;base64,AAAA", "altText": "yield"},
        {"type": "TextBlock", "text": "Data through 2026-11-27", "isSubtle": True},
    ]}
    html = card_frame(card)
    assert "class='section large'>platform · week 2026-W48" in html
    assert "<td>AI spend</td><td>$804.15 (▼ 9% vs last week)</td>" in html
    assert "<b>Where the money went</b><br>• By tool: &lt;b&gt;Cursor&lt;/b&gt; $58.99" in html
    assert "<img src='data:image/png;base64,AAAA' alt='yield'>" in html and "class='section subtle'" in html


def test_screenshots_without_chromium_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["--db", "sqlite:///never.db", "--config", "never.yml"]) == 1
    assert INSTALL in capsys.readouterr().err
