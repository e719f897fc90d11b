"""JSON-RPC 2.0 framing as the Codex app-server speaks it: one JSON object per line, the
``"jsonrpc"`` member optional on input and omitted on output.

Pure parsing and encoding (no I/O): ``parse_message`` turns one line into a request,
notification or response, or raises ``RpcError`` carrying the code and the id to answer
with. Error codes: -32700 invalid JSON, -32600 invalid request (Codex words these
``Invalid request: …``), -32601 unknown method, -32602 invalid params, -32603 internal.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
SERVER_OVERLOADED: Final = -32001

RequestId = int | str


class RpcError(Exception):
    """An error to send back as a JSON-RPC error object."""

    def __init__(
        self, code: int, message: str, *, id: RequestId | None = None, data: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = id
        self.data = data


class Request(msgspec.Struct, frozen=True):
    """A call that expects a response."""

    id: RequestId
    method: str
    params: Any = None


class Notification(msgspec.Struct, frozen=True):
    """A message that expects no response."""

    method: str
    params: Any = None


class Response(msgspec.Struct, frozen=True):
    """The client's answer to a request the server sent (e.g. ``item/tool/call``)."""

    id: RequestId
    result: Any = None
    error: Any = None


Message = Request | Notification | Response

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def _valid_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def parse_message(line: bytes) -> Message:
    """Parse one line; raises ``RpcError`` (with the id when one could be read)."""
    try:
        obj = _decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise RpcError(PARSE_ERROR, f"Parse error: {exc}") from None
    except RecursionError:
        # msgspec refuses nesting deeper than its limit by raising this; it is bad input.
        raise RpcError(PARSE_ERROR, "Parse error: nested too deeply") from None
    except (ValueError, UnicodeError) as exc:
        raise RpcError(PARSE_ERROR, f"Parse error: {exc}") from None
    if not isinstance(obj, dict):
        raise RpcError(INVALID_REQUEST, "Invalid request: expected a JSON object")
    raw_id = obj.get("id")
    msg_id = raw_id if _valid_id(raw_id) else None
    if "jsonrpc" in obj and obj["jsonrpc"] != "2.0":
        raise RpcError(INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0"', id=msg_id)
    if "id" in obj and msg_id is None:
        raise RpcError(INVALID_REQUEST, "Invalid request: id must be a string or an integer")
    method = obj.get("method")
    if method is None:
        if msg_id is not None and ("result" in obj or "error" in obj):
            return Response(id=msg_id, result=obj.get("result"), error=obj.get("error"))
        raise RpcError(INVALID_REQUEST, "Invalid request: missing field `method`", id=msg_id)
    if not isinstance(method, str):
        raise RpcError(INVALID_REQUEST, "Invalid request: `method` must be a string", id=msg_id)
    params = obj.get("params")
    if msg_id is None:
        return Notification(method=method, params=params)
    return Request(id=msg_id, method=method, params=params)


def encode_result(id: RequestId, result: Any) -> bytes:
    """A success response line."""
    return _encoder.encode({"id": id, "result": result}) + b"\n"


def encode_error(id: RequestId | None, code: int, message: str, data: Any = None) -> bytes:
    """An error response line (``id`` null when the request's id could not be read)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return _encoder.encode({"error": error, "id": id}) + b"\n"


def encode_notification(method: str, params: Any) -> bytes:
    """A notification line."""
    return _encoder.encode({"method": method, "params": params}) + b"\n"


def encode_request(id: RequestId, method: str, params: Any) -> bytes:
    """A server-to-client request line."""
    return _encoder.encode({"id": id, "method": method, "params": params}) + b"\n"
