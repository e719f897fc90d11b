"""What threadlog reads of a Codex home's ``config.toml``: the default model provider,
and the document itself for the model driver's settings.

Codex lists only the threads of its configured provider when a listing names none, so a
threadlog listing must know it too. The file is Codex's, read-only here; ``tomllib`` (the
standard library's TOML reader) parses it. A home without the file, or without the key,
means ``openai``; a file that is not valid TOML is an error the caller reports, as Codex
refuses to start on it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final

CONFIG_FILE: Final = "config.toml"
OPENAI: Final = "openai"


class ConfigError(ValueError):
    """``config.toml`` exists but cannot be used."""


def read_config(home: Path) -> dict[str, Any]:
    """``home/config.toml`` parsed (empty when there is none); ``ConfigError`` if unreadable."""
    path = home / CONFIG_FILE
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def configured_provider(home: Path) -> str | None:
    """``model_provider`` of ``home/config.toml``; None when the file or the key is absent."""
    path = home / CONFIG_FILE
    provider = read_config(home).get("model_provider")
    if provider is None:
        return None
    if not isinstance(provider, str) or not provider:
        raise ConfigError(f"{path}: model_provider must be a non-empty string")
    return provider


def default_provider(home: Path) -> str:
    """The provider Codex lists by default: the configured one, else ``openai``."""
    return configured_provider(home) or OPENAI
