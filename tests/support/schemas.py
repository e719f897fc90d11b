"""Check what ``serve`` sent against the app-server protocol's JSON schema of a Codex version.

The schema files are the ones the real Codex printed (``codex app-server generate-json-schema``)
and sit in the corpus beside its transcript. A result is checked against the response type of
the request it answers (``ThreadStartParams`` -> ``ThreadStartResponse``); a notification or
a server request against the branch of ``ServerNotification``/``ServerRequest`` with its
method, so a method the version does not know is an error too.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tests.support.corpus import CODEX_REAL
from threadlog.actors.server.transcript import read_transcript

RESPONSE_OF_PARAMLESS = {
    "config/mcpServer/reload": "v2/McpServerRefreshResponse",
    "account/logout": "v2/LogoutAccountResponse",
    "account/rateLimits/read": "v2/GetAccountRateLimitsResponse",
    "configRequirements/read": "v2/ConfigRequirementsReadResponse",
}
"""Methods without params, whose response type cannot be derived from the params' name."""


class ProtocolSchema:
    """One Codex version's app-server protocol schema."""

    def __init__(self, version: str, flavour: str = "stable") -> None:
        path = CODEX_REAL / version / "schema" / f"{flavour}.codex_app_server_protocol.schemas.json"
        self.version = version
        self.fallback = ProtocolSchema(version, "experimental") if flavour == "stable" else None
        """The experimental schema, for the experimental methods a client calls."""
        self.root: dict[str, Any] = json.loads(path.read_text())
        definitions = self.root["definitions"]
        self.responses: dict[str, str] = dict(RESPONSE_OF_PARAMLESS)
        for branch in definitions["ClientRequest"]["oneOf"]:
            method = branch["properties"]["method"]["enum"][0]
            ref = branch["properties"].get("params", {}).get("$ref")
            if ref is not None:
                name = ref.removeprefix("#/definitions/")
                self.responses[method] = name.removesuffix("Params") + "Response"
        self.notifications = _branches(definitions, "ServerNotification")
        self.requests = _branches(definitions, "ServerRequest")

    @cache  # noqa: B019 (the schemas live as long as the test session)
    def _validator(self, ref: str) -> jsonschema.protocols.Validator:
        schema = {"$ref": f"#/definitions/{ref}", "definitions": self.root["definitions"]}
        return jsonschema.Draft7Validator(schema)

    def _errors(self, ref: str, value: Any) -> list[str]:
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in self._validator(ref).iter_errors(value)
        ]

    def check_sent(self, message: dict[str, Any], asked: dict[Any, str]) -> list[str]:
        """What is wrong with one message the server sent (``asked``: request id -> method)."""
        problems = self._check_sent(message, asked)
        if problems and self.fallback is not None and self._unknown_here(message, asked):
            return self.fallback.check_sent(message, asked)
        return problems

    def _unknown_here(self, message: dict[str, Any], asked: dict[Any, str]) -> bool:
        if "method" in message:
            table = self.requests if "id" in message else self.notifications
            return message["method"] not in table
        return "error" not in message and asked.get(message.get("id")) not in self.responses

    def _check_sent(self, message: dict[str, Any], asked: dict[Any, str]) -> list[str]:
        if "method" in message:
            table = self.requests if "id" in message else self.notifications
            kind = "request" if "id" in message else "notification"
            ref = table.get(message["method"])
            if ref is None:
                return [f"{kind} {message['method']} is not in the {self.version} schema"]
            return [f"{message['method']}: {e}" for e in self._errors(ref, message)]
        if "error" in message:
            return [f"error answer: {e}" for e in self._errors("JSONRPCError", message)]
        method = asked.get(message.get("id"))
        if method is None:
            return [f"answer to an unknown request {message.get('id')!r}"]
        ref = self.responses.get(method)
        if ref is None or not _defined(self.root["definitions"], ref):
            return [f"{method}: no response type {ref} in the {self.version} schema"]
        return [f"{method} answer: {e}" for e in self._errors(ref, message["result"])]

    def check_conversation(self, lines: list[tuple[int, str, str]]) -> tuple[int, list[str]]:
        """Check every message sent in a transcript of (conn, dir, line); (count, problems)."""
        asked: dict[int, dict[Any, str]] = {}
        problems: list[str] = []
        count = 0
        for conn, direction, text in lines:
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                if direction == "out":
                    problems.append(f"conn {conn}: sent a line that is not JSON: {text[:80]}")
                continue
            if not isinstance(message, dict):
                continue
            if direction == "in":
                if "method" in message and "id" in message:
                    asked.setdefault(conn, {})[message["id"]] = message["method"]
                continue
            count += 1
            problems += [f"conn {conn}: {p}" for p in self.check_sent(message, asked.get(conn, {}))]
        return count, problems


def _branches(definitions: dict[str, Any], union: str) -> dict[str, str]:
    """method -> the definition of that branch of a method-tagged ``oneOf``."""
    return {
        branch["properties"]["method"]["enum"][0]: f"{union}/oneOf/{index}"
        for index, branch in enumerate(definitions[union]["oneOf"])
    }


def _defined(definitions: dict[str, Any], ref: str) -> bool:
    node: Any = definitions
    for part in ref.split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@cache
def protocol_schema(version: str) -> ProtocolSchema:
    """The schema of one corpus version, loaded once."""
    return ProtocolSchema(version)


def assert_transcript_valid(path: Path, version: str) -> int:
    """Every message in a ``serve --transcript`` file that serve sent is valid under the
    schema of ``version``; the number of messages checked."""
    lines = [(line.conn, line.dir, line.line) for line in read_transcript(path)]
    count, problems = protocol_schema(version).check_conversation(lines)
    assert problems == [], "\n".join(problems[:20])
    return count
