"""The Teams HTTP endpoint through aiohttp's test client, replies going to a local fake Bot Connector."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.errors import SettingsError
from bot.msteams.charts import ChartStore
from bot.msteams.http import build_app
from bot.msteams.references import load_reference
from bot.runtime import Runtime
from tests.fakes.teams_connector import FakeConnector
from tests.test_teams_cards import IN_W47, assert_valid_card, card_texts, sample_org

APP_ID = "00000000-0000-4000-8000-0000000000b0"
# The SDK's JWT check stores the caller's claims under a plain string key, as aiohttp allows.
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")


@pytest.fixture
def connector() -> Iterator[FakeConnector]:
    fake = FakeConnector()
    fake.members["29:ben"] = {"name": "Ben Brooks", "email": "Ben@Acme.test", "userPrincipalName": "ben@acme.test"}
    fake.start()
    yield fake
    fake.stop()


class Clock:
    def __init__(self) -> None:
        self.now = IN_W47

    def __call__(self) -> Any:
        return self.now


def call(runtime: Runtime, steps: Callable[[TestClient], Awaitable[None]], clock: Clock | None = None) -> None:
    async def run() -> None:
        async with TestClient(TestServer(build_app(runtime, clock or Clock()))) as client:
            await steps(client)

    asyncio.run(run())


def message(connector: FakeConnector, text: str, user: str = "29:ben", conversation: dict | None = None) -> dict:
    return {
        "type": "message", "id": "m1", "text": text, "channelId": "msteams", "serviceUrl": connector.service_url,
        "from": {"id": user, "name": "Ben Brooks"}, "recipient": {"id": "28:tokenworth-bot", "name": "tokenworth"},
        "conversation": conversation or {"id": "a:1on1-ben", "conversationType": "personal", "tenantId": "t-acme"},
    }


def test_without_a_valid_token_nothing_gets_in_when_anonymous_mode_is_off(
    tmp_path: Path, connector: FakeConnector
) -> None:
    runtime = sample_org(tmp_path, microsoft_app_id=APP_ID, microsoft_app_password="s3cret")

    async def steps(client: TestClient) -> None:
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic YWxhZGRpbjpvcGVu"}):
            response = await client.post("/api/messages", json=message(connector, "me"), headers=headers)
            assert response.status == 401, headers
        assert (await client.get("/healthz")).status == 200

    call(runtime, steps)
    assert connector.requests == []


def test_anonymous_mode_accepts_requests_and_warns_loudly(tmp_path: Path, connector: FakeConnector,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    runtime = sample_org(tmp_path, teams_anonymous=True)

    async def steps(client: TestClient) -> None:
        response = await client.post("/api/messages", json=message(connector, "me"))
        assert response.status in (200, 202)

    with caplog.at_level(logging.WARNING, logger="tokenworth.teams"):
        call(runtime, steps)
    assert any(r.levelno == logging.WARNING and "TEAMS_ANONYMOUS" in r.getMessage() for r in caplog.records)
    assert len(connector.activities("a:1on1-ben")) == 1


def test_without_credentials_or_anonymous_mode_the_server_does_not_start(tmp_path: Path) -> None:
    runtime = sample_org(tmp_path)
    with pytest.raises(SettingsError, match="MICROSOFT_APP_ID"):
        build_app(runtime)


def test_a_user_without_a_teams_alias_is_found_by_their_email_in_the_roster(
    tmp_path: Path, connector: FakeConnector
) -> None:
    runtime = sample_org(tmp_path, teams_anonymous=True)

    async def steps(client: TestClient) -> None:
        assert (await client.post("/api/messages", json=message(connector, "me"))).status in (200, 202)

    call(runtime, steps)
    [(_, reply)] = connector.activities("a:1on1-ben")
    card = reply["attachments"][0]["content"]
    assert_valid_card(card)
    texts = card_texts(card)
    assert texts[0] == "Ben Brooks · week 2026-W47"
    assert "AI spend: $568.69" in texts and "Outcome points: 3" in texts
    assert any(r.path == "/teams/v3/conversations/a:1on1-ben/members/29:ben" for r in connector.requests)


def test_a_channel_mention_is_answered_in_a_private_chat_and_the_channel_hears_only_where(
    tmp_path: Path, connector: FakeConnector
) -> None:
    runtime = sample_org(tmp_path, teams_anonymous=True)
    channel = {"id": "19:general@thread.tacv2;messageid=1699", "conversationType": "channel", "tenantId": "t-acme"}

    async def steps(client: TestClient) -> None:
        body = message(connector, "<at>tokenworth</at> me", conversation=channel)
        body["entities"] = [{"type": "mention", "text": "<at>tokenworth</at>", "mentioned": body["recipient"]}]
        assert (await client.post("/api/messages", json=body)).status in (200, 202)

    call(runtime, steps)
    [created] = connector.created()
    assert [m["id"] for m in created["members"]] == ["29:ben"] and created["isGroup"] is False
    [(_, private)] = connector.activities("a:dm-1")
    assert "AI spend: $568.69" in card_texts(private["attachments"][0]["content"])
    [(_, public)] = connector.activities("19:general@thread.tacv2")
    public_text = " ".join(card_texts(public["attachments"][0]["content"]))
    assert "private chat" in public_text and "$" not in public_text
    assert load_reference(runtime.engine, "19:general@thread.tacv2") is not None


def test_a_conversation_update_adding_the_bot_stores_the_reference(tmp_path: Path, connector: FakeConnector) -> None:
    runtime = sample_org(tmp_path, teams_anonymous=True)
    update = {
        "type": "conversationUpdate", "id": "u1", "channelId": "msteams", "serviceUrl": connector.service_url,
        "from": {"id": "29:ana"}, "recipient": {"id": "28:tokenworth-bot", "name": "tokenworth"},
        "conversation": {"id": "19:team-general@thread.tacv2", "conversationType": "channel", "tenantId": "t-acme"},
        "membersAdded": [{"id": "28:tokenworth-bot"}],
        "channelData": {"team": {"id": "19:team-general@thread.tacv2"}, "eventType": "teamMemberAdded"},
    }

    async def steps(client: TestClient) -> None:
        assert (await client.post("/api/messages", json=update)).status in (200, 202)

    call(runtime, steps)
    reference = load_reference(Runtime(runtime.settings, runtime.db_url, runtime.config_path).engine,
                               "19:team-general@thread.tacv2")
    assert reference is not None and reference.service_url == connector.service_url
    assert connector.activities() == []


def test_a_chart_is_served_until_it_expires_and_then_404s(tmp_path: Path) -> None:
    runtime = sample_org(tmp_path, teams_anonymous=True)
    clock = Clock()
    token = ChartStore(runtime.engine, clock=clock).put(b"\x89PNG fake chart")

    async def steps(client: TestClient) -> None:
        response = await client.get(f"/charts/{token}.png")
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == b"\x89PNG fake chart"
        assert (await client.get(f"/charts/{token[:-2]}xx.png")).status == 404
        clock.now = IN_W47 + timedelta(days=29)
        assert (await client.get(f"/charts/{token}.png")).status == 200
        clock.now = IN_W47 + timedelta(days=30, seconds=1)
        assert (await client.get(f"/charts/{token}.png")).status == 404

    call(runtime, steps, clock)


def rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _with_header(token: str, header: dict[str, Any]) -> str:
    import base64
    import json

    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return ".".join([encoded, *token.split(".")[1:]])


def forged_tokens() -> dict[str, str]:
    """Tokens an outsider can make: none of them is signed by a key Microsoft publishes."""
    import jwt

    now = int(time.time())
    claims = {"aud": APP_ID, "iss": "https://api.botframework.com", "serviceurl": "http://127.0.0.1:9/",
              "nbf": now - 60, "exp": now + 3600}
    expired = {**claims, "nbf": now - 7200, "exp": now - 3600}
    return {
        "alg-none": jwt.encode(claims, None, algorithm="none"),
        "hs256-any-key": jwt.encode(claims, "any-key-at-all-32-bytes-long-xxxx", algorithm="HS256"),
        "hs256-with-kid": jwt.encode(claims, "any-key-at-all-32-bytes-long-xxxx", algorithm="HS256",
                                     headers={"kid": "made-up"}),
        "rs256-expired-no-kid": jwt.encode(expired, rsa_key(), algorithm="RS256"),
        "rs256-no-kid": jwt.encode(claims, rsa_key(), algorithm="RS256"),
        "kid-not-a-string": _with_header(jwt.encode(claims, rsa_key(), algorithm="RS256"), {"alg": "RS256",
                                                                                             "kid": ["a", "b"]}),
        "header-not-json": "eyJub3QganNvbg.eyJ9.c2ln",
    }


def test_forged_tokens_without_a_usable_key_id_get_401_not_500(
    tmp_path: Path, connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = sample_org(tmp_path, microsoft_app_id=APP_ID, microsoft_app_password="s3cret")
    statuses: dict[str, int] = {}

    async def steps(client: TestClient) -> None:
        for name, token in forged_tokens().items():
            response = await client.post("/api/messages", json=message(connector, "me"),
                                         headers={"Authorization": f"Bearer {token}"})
            statuses[name] = response.status

    with caplog.at_level(logging.INFO):
        call(runtime, steps)
    assert statuses == {name: 401 for name in forged_tokens()}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert connector.requests == []


def test_a_body_over_the_cap_is_refused_before_the_token_or_the_body_is_read(
    tmp_path: Path, connector: FakeConnector
) -> None:
    from bot.msteams.http import MAX_BODY

    runtime = sample_org(tmp_path, teams_anonymous=True)

    async def steps(client: TestClient) -> None:
        big = b'{"type": "message", "text": "' + b"x" * MAX_BODY + b'"}'
        response = await client.post("/api/messages", data=big, headers={"Content-Type": "application/json"})
        assert response.status == 413

        async def chunks() -> Any:
            for _ in range(MAX_BODY // 65536 + 2):
                yield b"x" * 65536

        chunked = await client.post("/api/messages", data=chunks(), headers={"Content-Type": "application/json"})
        assert chunked.status == 413
        assert (await client.post("/charts/abc.png", data=b"x" * 2048)).status in (405, 413)

    call(runtime, steps)
    assert connector.requests == []


TENANT = "0f5e1c4a-7d1b-4e55-9a56-2c4d8e9b1a01"


@pytest.mark.parametrize(
    ("where", "answered"),
    [("conversation", True), ("channelData", True), ("conversation-other", False), ("channelData-other", False),
     ("nowhere", False)],
)
def test_only_people_of_the_configured_tenant_are_answered(
    tmp_path: Path, connector: FakeConnector, where: str, answered: bool
) -> None:
    runtime = sample_org(tmp_path, teams_anonymous=True, microsoft_app_tenant_id=TENANT)
    body = message(connector, "me")
    tenant = TENANT if not where.endswith("-other") else "a-different-tenant"
    del body["conversation"]["tenantId"]
    if where.startswith("conversation"):
        body["conversation"]["tenantId"] = tenant
    elif where.startswith("channelData"):
        body["channelData"] = {"tenant": {"id": tenant}}

    async def steps(client: TestClient) -> None:
        assert (await client.post("/api/messages", json=body)).status in (200, 202)

    call(runtime, steps)
    replies = connector.activities("a:1on1-ben")
    assert len(replies) == (1 if answered else 0)
    if answered:
        assert "AI spend: $568.69" in card_texts(replies[0][1]["attachments"][0]["content"])
    else:
        assert connector.requests == []  # not even the roster was asked about a stranger


def test_another_tenant_adding_the_bot_stores_no_conversation_reference(
    tmp_path: Path, connector: FakeConnector
) -> None:
    runtime = sample_org(tmp_path, teams_anonymous=True, microsoft_app_tenant_id=TENANT)
    update = {
        "type": "conversationUpdate", "id": "u1", "channelId": "msteams", "serviceUrl": connector.service_url,
        "from": {"id": "29:mallory"}, "recipient": {"id": "28:tokenworth-bot", "name": "tokenworth"},
        "conversation": {"id": "19:elsewhere@thread.tacv2", "conversationType": "channel", "tenantId": "other"},
        "membersAdded": [{"id": "28:tokenworth-bot"}], "channelData": {"tenant": {"id": "other"}},
    }

    async def steps(client: TestClient) -> None:
        assert (await client.post("/api/messages", json=update)).status in (200, 202)

    call(runtime, steps)
    assert load_reference(runtime.engine, "19:elsewhere@thread.tacv2") is None
