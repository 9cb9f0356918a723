"""OTLP/HTTP `POST /v1/metrics` in a running `serve --http`: real requests built with opentelemetry-proto messages.

A live export must store exactly what the same export read from a file stores; an unauthenticated,
oversized or malformed export stores nothing.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AGGREGATION_TEMPORALITY_DELTA,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from sqlalchemy import Engine

from bot.config.settings import Settings
from bot.ingest.files import ingest_file
from bot.ingest.otlp import MAX_BODY_BYTES, MAX_DECODED_BYTES, handle_otlp
from bot.runtime import Runtime
from bot.slack.http import http_server
from storage import make_engine
from storage.migrate import upgrade
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.pull_helpers import stored
from tests.test_server_hostile import port_of, raw_request

TOKEN = "otlp-test-token"
CUMULATIVE = FIXTURES / "claude_code_otlp_metrics.json"
DELTA = FIXTURES / "claude_code_otlp_metrics.delta.jsonl"
PROTOBUF = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[str, Engine]]:
    engine = make_engine(db_url)
    upgrade(engine)
    runtime = Runtime(Settings(otlp_token=TOKEN), db_url, str(EXAMPLE_CONFIG))  # type: ignore[arg-type]
    http = http_server(runtime, None, "127.0.0.1", 0)
    thread = threading.Thread(target=http.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.effective_port}", engine
    http.close()
    thread.join(5)
    engine.dispose()


def as_message(text: str) -> ExportMetricsServiceRequest:
    return json_format.Parse(text, ExportMetricsServiceRequest())


def from_file(tmp_path: Path, fixture: Path) -> dict[str, list[tuple[object, ...]]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'from-file.db'}")
    upgrade(engine)
    report = ingest_file(engine, fixture, source="claude_code_otel")
    assert report.records > 0 and report.rejected == 0
    try:
        return stored(engine)
    finally:
        engine.dispose()


def empty(engine: Engine) -> bool:
    return not any(stored(engine).values())


def test_a_protobuf_export_is_stored_exactly_as_the_same_export_read_from_a_file(
    served: tuple[str, Engine], tmp_path: Path,
) -> None:
    url, engine = served
    body = gzip.compress(as_message(CUMULATIVE.read_text()).SerializeToString())
    response = httpx.post(f"{url}/v1/metrics", content=body, headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-protobuf"
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_data_points == 0
    expected = from_file(tmp_path, CUMULATIVE)
    assert stored(engine) == expected and expected["Usage"]
    again = httpx.post(f"{url}/v1/metrics", content=body, headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert again.status_code == 200 and stored(engine) == expected  # an exporter's retry counts once


def test_delta_exports_sent_one_request_each_match_the_json_lines_file(
    served: tuple[str, Engine], tmp_path: Path,
) -> None:
    url, engine = served
    for line in DELTA.read_text().splitlines():
        response = httpx.post(f"{url}/v1/metrics", content=as_message(line).SerializeToString(), headers=PROTOBUF)
        assert response.status_code == 200
    assert stored(engine) == from_file(tmp_path, DELTA)


def test_an_otlp_json_export_is_accepted_too(served: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = served
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    response = httpx.post(f"{url}/v1/metrics", content=CUMULATIVE.read_bytes(), headers=headers)
    assert response.status_code == 200 and response.json() == {}
    assert stored(engine) == from_file(tmp_path, CUMULATIVE)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_an_unauthenticated_export_gets_401_and_stores_nothing(served: tuple[str, Engine], authorization: str | None,
                                                               ) -> None:
    url, engine = served
    headers = {"Content-Type": "application/x-protobuf", **({"Authorization": authorization} if authorization else {})}
    body = as_message(CUMULATIVE.read_text()).SerializeToString()
    assert httpx.post(f"{url}/v1/metrics", content=body, headers=headers).status_code == 401
    assert empty(engine)


def test_an_oversized_export_gets_413_before_it_is_sent_and_stores_nothing(served: tuple[str, Engine]) -> None:
    url, engine = served
    head = (f"POST /v1/metrics HTTP/1.1\r\nHost: tokenworth\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/x-protobuf\r\nContent-Length: {MAX_BODY_BYTES + 1}")
    assert raw_request(port_of(url), head).startswith(b"HTTP/1.1 413")
    bomb = gzip.compress(b"\0" * (MAX_DECODED_BYTES + 1))
    response = httpx.post(f"{url}/v1/metrics", content=bomb, headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 413 and empty(engine)


@pytest.mark.parametrize(("content_type", "body", "encoding"), [
    ("application/x-protobuf", b"\xff\xff\xff\xff not protobuf", ""),
    ("application/json", b'{"resourceMetrics": "nope"}', ""),
    ("application/json", b'{"resourceMetrics": [', ""),
    ("application/x-protobuf", b"\x1f\x8b not really gzip", "gzip"),
    ("application/x-protobuf", b"", "br"),
])
def test_a_malformed_export_gets_400_and_stores_nothing(
    served: tuple[str, Engine], content_type: str, body: bytes, encoding: str,
) -> None:
    url, engine = served
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}", "Content-Encoding": encoding}
    assert httpx.post(f"{url}/v1/metrics", content=body, headers=headers).status_code == 400
    assert empty(engine)


def point(value: float, **attributes: str) -> NumberDataPoint:
    pairs = [KeyValue(key=k.replace("_", "."), value=AnyValue(string_value=v)) for k, v in attributes.items()]
    return NumberDataPoint(attributes=pairs, time_unix_nano=1_794_906_026_000_000_000, as_double=value)


def test_points_the_feed_rejects_are_a_partial_success_and_the_rest_is_stored(served: tuple[str, Engine]) -> None:
    url, engine = served
    good = point(1200.0, user_email="ana@acme.test", model="claude-sonnet-4-6", type="input")
    anonymous = point(5.0, model="claude-sonnet-4-6", type="input")  # no user.email, account id or user.id
    metric = Metric(name="claude_code.token.usage",
                    sum=Sum(aggregation_temporality=AGGREGATION_TEMPORALITY_DELTA, data_points=[good, anonymous]))
    request = ExportMetricsServiceRequest(resource_metrics=[ResourceMetrics(scope_metrics=[ScopeMetrics(
        metrics=[metric])])])
    response = httpx.post(f"{url}/v1/metrics", content=request.SerializeToString(), headers=PROTOBUF)
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert response.status_code == 200 and answer.partial_success.rejected_data_points == 1
    assert "user.email" in answer.partial_success.error_message
    assert [row for row in stored(engine)["Usage"] if ("input_tokens", 1200) in row]


def test_the_token_is_checked_before_the_body_is_read(sqlite_engine: Engine) -> None:
    reads: list[str] = []

    def read_body() -> bytes:
        reads.append("read")
        return b""

    refused = handle_otlp(sqlite_engine, TOKEN, {"Content-Type": "application/x-protobuf"}, read_body)
    unset = handle_otlp(sqlite_engine, None, {"Authorization": f"Bearer {TOKEN}"}, read_body)
    assert (refused.status, unset.status, reads) == (401, 503, [])
    accepted = handle_otlp(sqlite_engine, TOKEN, PROTOBUF, read_body)  # an empty export is a valid one
    assert (accepted.status, reads) == (200, ["read"])
    assert not ExportMetricsServiceResponse.FromString(accepted.body).HasField("partial_success")
    untyped = handle_otlp(sqlite_engine, TOKEN, {"Authorization": f"Bearer {TOKEN}"}, read_body)
    assert untyped.status == 415 and "Content-Type" in json.loads(untyped.body)["message"]
