"""The pull client against a real local server: retries as vendors ask, errors that say why and leak nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.ingest.pull.http import PullError, RetryPolicy, VendorClient, next_link
from tests.fakes.vendor_server import Reply, VendorServer

SECRET = "sk-test-very-secret"
OK = Reply(body={"data": [1, 2, 3]})


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(server: VendorServer, waits: list[float]) -> Iterator[VendorClient]:
    with VendorClient(server.url, headers={"x-api-key": SECRET}, secrets=(SECRET,), sleep=waits.append) as made:
        yield made


def get(client: VendorClient, path: str = "/v1/thing") -> object:
    response = client.get(path)
    assert response is not None
    return response.json()


def test_429_waits_as_long_as_retry_after_says(server: VendorServer, client: VendorClient, waits: list[float]) -> None:
    server.route("GET", "/v1/thing", Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"}), OK)
    assert get(client) == {"data": [1, 2, 3]}
    assert waits == [7.0]
    assert len(server.seen()) == 2


def test_500_twice_backs_off_then_succeeds(server: VendorServer, client: VendorClient, waits: list[float]) -> None:
    server.route("GET", "/v1/thing", Reply(500), Reply(502), OK)
    assert get(client) == {"data": [1, 2, 3]}
    assert waits == [1.0, 2.0]


def test_dropped_connection_is_retried(server: VendorServer, client: VendorClient, waits: list[float]) -> None:
    server.route("GET", "/v1/thing", Reply(drop=True), OK)
    assert get(client) == {"data": [1, 2, 3]}
    assert waits == [1.0]


def test_500_forever_gives_up_after_six_attempts(
    server: VendorServer, client: VendorClient, waits: list[float]
) -> None:
    server.route("GET", "/v1/thing", Reply(500, {"error": {"message": "overloaded"}}))
    with pytest.raises(PullError, match=r"GET http://127\.0\.0\.1:\d+/v1/thing: gave up after 6 attempts \(HTTP 500\)"):
        client.get("/v1/thing")
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert len(server.seen()) == 6


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(attempts=10)
    assert [policy.backoff(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_other_4xx_fails_at_once_with_the_vendors_message_and_no_secret(
    server: VendorServer, client: VendorClient, waits: list[float]
) -> None:
    server.route("GET", "/v1/thing", Reply(401, {"error": {"type": "authentication_error",
                                                          "message": f"invalid x-api-key {SECRET}"}}))
    with pytest.raises(PullError) as caught:
        client.get("/v1/thing")
    assert "HTTP 401: invalid x-api-key ***" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert waits == [] and len(server.seen()) == 1


def test_a_retry_after_beyond_reason_fails_instead_of_sleeping_for_hours(
    server: VendorServer, client: VendorClient, waits: list[float]
) -> None:
    server.route("GET", "/v1/thing", Reply(429, headers={"Retry-After": "86400"}))
    with pytest.raises(PullError, match="asks to wait 86400 s"):
        client.get("/v1/thing")
    assert waits == []


def test_github_secondary_rate_limit_403_with_retry_after_is_waited_out(
    server: VendorServer, client: VendorClient, waits: list[float]
) -> None:
    server.route("GET", "/v1/thing", Reply(403, {"message": "secondary rate limit"}, {"Retry-After": "3"}), OK)
    assert get(client) == {"data": [1, 2, 3]}
    assert waits == [3.0]


def test_credentials_go_to_the_api_but_not_to_signed_download_links(server: VendorServer, client: VendorClient) -> None:
    server.route("GET", "/v1/thing", OK)
    server.route("GET", "/signed/part.ndjson", Reply(body=b'{"a":1}\n'))
    client.get("/v1/thing")
    assert client.download(f"{server.url}/signed/part.ndjson?sig=abc").content == b'{"a":1}\n'
    api, download = server.seen()
    assert api.headers["x-api-key"] == SECRET
    assert "x-api-key" not in download.headers and "authorization" not in download.headers


def test_a_failed_download_names_the_link_without_its_signature(server: VendorServer, client: VendorClient) -> None:
    server.route("GET", "/signed/part.ndjson", Reply(403, b"<Error>expired</Error>"))
    with pytest.raises(PullError) as caught:
        client.download(f"{server.url}/signed/part.ndjson?sig=abcdef123")
    assert "/signed/part.ndjson: HTTP 403" in str(caught.value) and "abcdef123" not in str(caught.value)


@pytest.mark.parametrize(("header", "expected"), [
    ('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; rel="last"',
     "https://api.github.com/x?page=2"),
    ('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first"', None),
    (None, None),
])
def test_next_link(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected
