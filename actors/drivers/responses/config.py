"""The model and provider a Responses driver talks to, read as Codex reads ``config.toml``.

Keys (Codex's own): ``model``, ``model_provider``, ``model_reasoning_effort``,
``model_reasoning_summary`` at the top, and ``[model_providers.NAME]`` tables with
``base_url``, ``env_key``, ``wire_api``, ``query_params``, ``http_headers``,
``request_max_retries``, ``stream_max_retries`` and ``stream_idle_timeout_ms``. The
built-in ``openai`` provider needs no table. Flags override the file. Parsing is pure
(``resolve`` takes the parsed document; ``load_model_config`` reads it from a home first);
only the API key is looked up at the first turn, so a missing key is that turn's error, not
serve's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from threadlog.store.codex_config import ConfigError as UnreadableConfig
from threadlog.store.codex_config import read_config

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-5.2-codex"


class ConfigError(ValueError):
    """A ``config.toml`` value or a flag the driver cannot use."""


class Provider(msgspec.Struct, frozen=True):
    """One ``[model_providers.NAME]`` table (Codex's defaults where a key is absent)."""

    name: str
    base_url: str = OPENAI_BASE_URL
    env_key: str | None = "OPENAI_API_KEY"
    wire_api: str = "responses"
    query_params: dict[str, str] = {}
    http_headers: dict[str, str] = {}
    request_max_retries: int = 4
    stream_max_retries: int = 5
    stream_idle_timeout_ms: int = 300_000


class ModelConfig(msgspec.Struct, frozen=True):
    """What the driver sends: the model, its reasoning settings and the provider."""

    model: str
    provider: Provider
    reasoning_effort: str | None = None
    reasoning_summary: str = "auto"


_RETRY_CAP = 100  # Codex caps the retry settings too: a typo must not retry for ever


def _provider(name: str, table: Any) -> Provider:
    if not isinstance(table, dict):
        raise ConfigError(f"[model_providers.{name}] must be a table")
    known = set(Provider.__struct_fields__) - {"name"}
    given = {k: v for k, v in table.items() if k in known}
    given.setdefault("env_key", None)  # a provider of one's own needs a key only if it names one
    try:
        provider = msgspec.convert({"name": name, **given}, Provider)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"[model_providers.{name}]: {exc}") from None
    if provider.wire_api != "responses":
        raise ConfigError(
            f"[model_providers.{name}] wire_api = {provider.wire_api!r}: "
            'threadlog speaks only the Responses API (wire_api = "responses")'
        )
    for key in ("request_max_retries", "stream_max_retries"):
        if not 0 <= getattr(provider, key) <= _RETRY_CAP:
            raise ConfigError(f"[model_providers.{name}] {key} must be 0..{_RETRY_CAP}")
    if provider.stream_idle_timeout_ms <= 0:
        raise ConfigError(f"[model_providers.{name}] stream_idle_timeout_ms must be positive")
    return provider


def resolve(
    document: Mapping[str, Any],
    *,
    model: str | None = None,
    provider: str | None = None,
    base_url: str | None = None,
) -> ModelConfig:
    """The model config of a parsed ``config.toml`` with the flags applied over it."""
    name = provider or document.get("model_provider") or "openai"
    if not isinstance(name, str):
        raise ConfigError("model_provider must be a string")
    tables = document.get("model_providers", {})
    if not isinstance(tables, dict):
        raise ConfigError("model_providers must be a table")
    if name in tables:
        chosen = _provider(name, tables[name])
    elif name == "openai":
        chosen = Provider(name="openai")
    else:
        raise ConfigError(f"model_provider {name!r} has no [model_providers.{name}] table")
    if base_url is not None:
        chosen = msgspec.structs.replace(chosen, base_url=base_url)
    if not chosen.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"base_url {chosen.base_url!r} is not an http(s) URL")
    chosen_model = model or document.get("model") or DEFAULT_MODEL
    effort = document.get("model_reasoning_effort")
    summary = document.get("model_reasoning_summary", "auto")
    if not isinstance(chosen_model, str) or not isinstance(summary, str):
        raise ConfigError("model and model_reasoning_summary must be strings")
    if effort is not None and not isinstance(effort, str):
        raise ConfigError("model_reasoning_effort must be a string")
    return ModelConfig(
        model=chosen_model, provider=chosen, reasoning_effort=effort, reasoning_summary=summary
    )


def load_model_config(
    home: Path | str,
    *,
    model: str | None = None,
    provider: str | None = None,
    base_url: str | None = None,
) -> ModelConfig:
    """The model config of ``home/config.toml`` (absent: OpenAI's defaults) with overrides."""
    try:
        document = read_config(Path(home))
    except UnreadableConfig as exc:
        raise ConfigError(str(exc)) from None
    return resolve(document, model=model, provider=provider, base_url=base_url)


def api_key(provider: Provider, environ: Mapping[str, str]) -> str | None:
    """The provider's key from the environment; ``None`` for a provider that needs none."""
    if provider.env_key is None:
        return None
    key = environ.get(provider.env_key, "").strip()
    if not key:
        raise ConfigError(
            f"no API key: the environment variable {provider.env_key} is not set "
            f"(the key of model provider {provider.name!r})"
        )
    return key
