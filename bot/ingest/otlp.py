"""The OTLP/HTTP metrics receiver (`POST /v1/metrics`) as one function: headers and a body reader in, a reply out.

Invariants. The bearer token (OTLP_TOKEN) is checked before the body is read: an unauthenticated export is
refused with 401 and nothing of it is read, let alone stored. A body is bounded twice: as sent (the route's
cap, enforced by the HTTP server on Content-Length) and after gzip (MAX_DECODED_BYTES, inflated in bounded
steps, so a zip bomb costs nothing). An export that does not decode whole as an ExportMetricsServiceRequest
(protobuf or its JSON mapping) gets 400 and stores nothing. A decoded export is written as OTLP/JSON (the
protobuf JSON mapping, enums as integers) and ingested by the Claude Code OTel feed through the same path as
a file, so a live export stores exactly what the same export read from a file stores. Points that feed
rejects are answered as OTLP partial success, never retried by the exporter.
"""

from __future__ import annotations

import hmac
import json
import tempfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from sqlalchemy import Engine

from bot.ingest.files import ingest_file

OTLP_PATH = "/v1/metrics"
SOURCE = "claude_code_otel"
MAX_BODY_BYTES = 4 * 1024 * 1024  # as sent: OTel SDKs batch far below this
MAX_DECODED_BYTES = 32 * 1024 * 1024  # after gzip
PROTOBUF, JSON = "application/x-protobuf", "application/json"
# google.rpc.Code values for the Status body OTLP asks for on failure
_RPC_CODE = {400: 3, 401: 16, 413: 8, 415: 3, 503: 14}


@dataclass(frozen=True)
class OtlpReply:
    status: int
    content_type: str
    body: bytes


class _TooLarge(Exception):
    pass


def handle_otlp(engine: Engine, token: str | None, headers: Mapping[str, str],
                read_body: Callable[[], bytes | None]) -> OtlpReply:
    """Authenticate from the headers, then read (`read_body` gives None when over the cap), decode, ingest."""
    header = {k.lower(): v for k, v in headers.items()}
    kind = _kind(header.get("content-type", ""))
    refused = refusal(token, header.get("authorization", ""), kind)
    if refused is not None:
        return refused
    if kind is None:
        return _failure(415, JSON, f"Content-Type must be {PROTOBUF} or {JSON}")
    body = read_body()
    if body is None:
        return _failure(413, kind, f"an export may carry at most {MAX_BODY_BYTES:,} bytes")
    return receive(engine, body, kind, header.get("content-encoding", ""))


def refusal(token: str | None, authorization: str, kind: str | None) -> OtlpReply | None:
    """Why an export is refused unread: no token configured (503), or no matching bearer token (401)."""
    shape = kind or JSON
    if not token:
        return _failure(503, shape, "OTLP_TOKEN is not set; refusing unauthenticated exports")
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.encode()):
        return _failure(401, shape, "a valid bearer token is needed")
    return None


def receive(engine: Engine, body: bytes, kind: str, encoding: str) -> OtlpReply:
    """An authenticated export: decoded whole or refused whole, then ingested like a file."""
    try:
        request = _request(_inflated(body, encoding), kind)
    except _TooLarge:
        return _failure(413, kind, f"an export may inflate to at most {MAX_DECODED_BYTES:,} bytes")
    except (ValueError, RecursionError, DecodeError, json_format.ParseError) as exc:
        return _failure(400, kind, f"not an ExportMetricsServiceRequest: {str(exc)[:200]}")
    if not request.resource_metrics:
        return _success(kind, 0, "")  # an empty export is a valid one, with nothing to store
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    with tempfile.TemporaryDirectory(prefix="tokenworth-otlp-") as tmp:
        path = Path(tmp) / "otlp-export.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        report = ingest_file(engine, path, source=SOURCE)
    if report.unusable:
        return _failure(503, kind, "the export could not be stored now; send it again")
    return _success(kind, report.rejected, report.errors[0]["reason"] if report.errors else "")


def _kind(content_type: str) -> str | None:
    media = content_type.split(";", 1)[0].strip().lower()
    return media if media in (PROTOBUF, JSON) else None


def _inflated(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise ValueError(f"Content-Encoding {encoding[:20]!r} is not supported (gzip is)")
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        raw = inflater.decompress(body, MAX_DECODED_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(f"not gzip data ({exc})") from None
    if len(raw) > MAX_DECODED_BYTES:
        raise _TooLarge
    if not inflater.eof:
        raise ValueError("the gzip data ends early")
    return raw


def _request(raw: bytes, kind: str) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    if kind == PROTOBUF:
        request.ParseFromString(raw)
    else:
        json_format.Parse(raw, request, ignore_unknown_fields=True)  # receivers ignore unknown fields
    return request


def _success(kind: str, rejected: int, why: str) -> OtlpReply:
    response = ExportMetricsServiceResponse()
    if rejected:
        response.partial_success.rejected_data_points = rejected
        response.partial_success.error_message = f"{rejected} data point{'s' if rejected != 1 else ''} rejected: {why}"
    if kind == PROTOBUF:
        return OtlpReply(200, PROTOBUF, response.SerializeToString())
    return OtlpReply(200, JSON, json.dumps(json_format.MessageToDict(response)).encode())


def _failure(status: int, kind: str, message: str) -> OtlpReply:
    """A google.rpc.Status body, as OTLP/HTTP asks: protobuf for a protobuf request, else JSON."""
    code = _RPC_CODE.get(status, 2)
    if kind == PROTOBUF:
        return OtlpReply(status, PROTOBUF, _status_bytes(code, message))
    return OtlpReply(status, JSON, json.dumps({"code": code, "message": message}).encode())


def _status_bytes(code: int, message: str) -> bytes:
    """google.rpc.Status{code=1, message=2} encoded by hand: googleapis-common-protos is not a dependency."""
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
