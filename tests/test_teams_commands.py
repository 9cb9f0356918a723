"""Every command as a Teams message, through the Agents SDK's TestAdapter and TestFlow.

The numbers in each card are the core answer's (the one Slack renders) for the same person and week.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    Entity,
)
from microsoft_agents.testing import TestAdapter, TestFlow
from sqlmodel import select

from bot.answers.commands import answer
from bot.answers.text import lines
from bot.answers.types import MeAnswer
from bot.msteams.agent import TokenworthAgent
from bot.msteams.auth import connections
from bot.msteams.cards import answer_card, markdown
from bot.msteams.charts import ChartStore
from bot.msteams.references import load_reference
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import Person
from tests.test_teams_cards import ANA_AAD, CARA_AAD, IN_W47, assert_valid_card, card_texts, sample_org

BOT = ChannelAccount(id="28:tokenworth-bot", name="tokenworth")
CARA = ChannelAccount(id="29:cara", name="Cara Chen", aad_object_id=CARA_AAD)
ANA = ChannelAccount(id="29:ana", name="Ana Alvarez", aad_object_id=ANA_AAD)
STRANGER = ChannelAccount(id="29:zed", name="Zed", aad_object_id="99999999-0000-4000-8000-000000000000")


@pytest.fixture
def acme(tmp_path: Path) -> Runtime:
    return sample_org(tmp_path, teams_anonymous=True, public_url="https://bot.acme.test")


def agent_for(runtime: Runtime) -> Any:
    charts = ChartStore(runtime.engine, clock=lambda: IN_W47)
    return TokenworthAgent(runtime, charts, clock=lambda: IN_W47).application(connections(runtime.settings))


def adapter(user: ChannelAccount, conversation: ConversationAccount | None = None) -> TestAdapter:
    reference = ConversationReference(
        channel_id="msteams", user=user, bot=BOT, service_url="https://smba.test/teams/",
        conversation=conversation or ConversationAccount(id=f"a:1on1-{user.id}", conversation_type="personal"),
    )
    return TestAdapter(conversation=reference)


def card_of(reply: Activity) -> dict[str, Any]:
    assert reply.type == ActivityTypes.message and reply.attachments and len(reply.attachments) == 1
    attachment = reply.attachments[0]
    assert attachment.content_type == "application/vnd.microsoft.card.adaptive"
    assert_valid_card(attachment.content)
    return attachment.content


def converse(runtime: Runtime, user: ChannelAccount, *messages: str | Activity,
             conversation: ConversationAccount | None = None) -> list[dict[str, Any]]:
    """Send each message in turn; one card comes back for each, and nothing more."""
    cards: list[dict[str, Any]] = []

    async def run() -> None:
        app = agent_for(runtime)
        flow = TestFlow(adapter(user, conversation), app.on_turn)
        for message in messages:
            flow = flow.send(message).assert_reply(lambda reply: cards.append(card_of(reply)))
        await flow.assert_no_more_replies().start_test()

    asyncio.run(run())
    return cards


def core_texts(runtime: Runtime, email: str | None, command: str) -> list[str]:
    return card_texts(answer_card(answer(runtime, email, command, now=IN_W47, prefix="@tokenworth")))


@pytest.mark.parametrize("command", [
    "me", "me last-week", "me 2026-W46", "me 4w", "trend", "preview", "privacy", "team", "help", "dance",
    "team platform 2026-W47",
])
def test_each_command_answers_with_the_core_answer_for_the_asker(acme: Runtime, command: str) -> None:
    [card] = converse(acme, CARA, command)
    expected = core_texts(acme, "cara@acme.test", command)
    assert card_texts(card) == expected


def test_me_in_teams_shows_the_same_numbers_as_slack_for_cara_in_w47(acme: Runtime) -> None:
    [card] = converse(acme, CARA, "me")
    texts = card_texts(card)
    assert texts[0] == "Cara Chen · week 2026-W47"
    assert "AI spend: $6.48" in texts and "Outcome points: 15" in texts
    core = answer(acme, "cara@acme.test", "me", now=IN_W47)
    assert isinstance(core, MeAnswer) and round(core.latest.figures.spend_usd, 2) == 6.48
    for line in lines(core):  # the sentences Slack shows, sentence for sentence
        assert markdown(line) in texts


def test_me_last_week_is_w46_with_its_own_numbers(acme: Runtime) -> None:
    [last] = converse(acme, CARA, "me last-week")
    assert card_texts(last)[0] == "Cara Chen · week 2026-W46"
    assert "AI spend: $6.15" in card_texts(last) and "Outcome points: 15" in card_texts(last)


def test_trend_card_links_a_chart_served_by_the_bot(acme: Runtime) -> None:
    [card] = converse(acme, CARA, "trend")
    [image] = [e for e in card["body"] if e["type"] == "Image"]
    assert image["url"].startswith("https://bot.acme.test/charts/") and image["url"].endswith(".png")
    token = image["url"].rsplit("/", 1)[1].removesuffix(".png")
    png = ChartStore(acme.engine, clock=lambda: IN_W47).get(token)
    assert png is not None and png.startswith(b"\x89PNG")


def test_kudos_on_and_off_change_only_the_askers_opt_in(acme: Runtime) -> None:
    on, = converse(acme, CARA, "kudos on")
    assert card_texts(on)[1].startswith("Kudos on")
    assert opted_in(acme) == {"cara@acme.test"}
    off, = converse(acme, CARA, "kudos off")
    assert card_texts(off)[1].startswith("Kudos off")
    assert opted_in(acme) == set()


def opted_in(runtime: Runtime) -> set[str]:
    with session_scope(runtime.engine) as session:
        return {p.email for p in session.exec(select(Person)).all() if p.kudos_opt_in}


def test_team_digest_only_for_its_managers(acme: Runtime) -> None:
    [refused] = converse(acme, CARA, "team platform")
    assert "only for that team's configured managers" in " ".join(card_texts(refused))
    [granted] = converse(acme, ANA, "team platform")
    assert card_texts(granted)[0] == "platform · week 2026-W46"


def test_an_unknown_teams_user_is_told_how_to_get_linked_and_sees_no_numbers(acme: Runtime) -> None:
    [card] = converse(acme, STRANGER, "me")
    text = " ".join(card_texts(card))
    assert "can't find you" in text and "$" not in text


def test_mentions_never_select_another_person(acme: Runtime) -> None:
    mention = Entity(type="mention", mentioned=ANA.model_dump(by_alias=True), text="<at>Ana</at>")
    message = Activity(type=ActivityTypes.message, text="me <at>Ana</at>", from_property=CARA, entities=[mention])
    [card] = converse(acme, CARA, message)
    assert card_texts(card)[0] == "Cara Chen · week 2026-W47"


def test_in_a_channel_personal_answers_are_never_posted_there(acme: Runtime) -> None:
    channel = ConversationAccount(id="19:general@thread.tacv2", conversation_type="channel", tenant_id="t-acme")
    [card] = converse(acme, CARA, "me", conversation=channel)
    text = " ".join(card_texts(card))
    assert "only for you" in text and "$" not in text and "Cara" not in text
    [help_card] = converse(acme, CARA, "help", conversation=channel)
    assert "@tokenworth me" in " ".join(card_texts(help_card))


def test_adding_the_bot_to_a_team_stores_its_conversation_reference_across_restarts(
    acme: Runtime, tmp_path: Path
) -> None:
    general = ConversationAccount(id="19:general@thread.tacv2", conversation_type="channel", tenant_id="t-acme")
    added = Activity(type=ActivityTypes.conversation_update, members_added=[BOT], from_property=ANA,
                     channel_data={"team": {"id": "19:general@thread.tacv2"}, "eventType": "teamMemberAdded"})
    someone_else = Activity(type=ActivityTypes.conversation_update, members_added=[CARA], from_property=ANA)

    async def run(activity: Activity) -> None:
        flow = TestFlow(adapter(ANA, general), agent_for(acme).on_turn)
        await flow.send(activity).assert_no_more_replies().start_test()

    asyncio.run(run(someone_else))
    assert load_reference(acme.engine, "19:general@thread.tacv2") is None
    asyncio.run(run(added))
    restarted = Runtime(acme.settings, acme.db_url, acme.config_path)
    reference = load_reference(restarted.engine, "19:general@thread.tacv2")
    assert reference is not None
    assert reference.service_url == "https://smba.test/teams/"
    assert reference.agent.id == BOT.id and reference.conversation.tenant_id == "t-acme"
    assert reference.activity_id is None
