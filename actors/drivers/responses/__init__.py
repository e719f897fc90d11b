"""The Responses API model driver: config as Codex reads it, the wire, the stream, the loop.

Names load on first use (PEP 562): a command that only reads the config (or none of this)
does not pay for httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from threadlog.events.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from threadlog.actors.drivers.responses.config import (
        ConfigError,
        ModelConfig,
        Provider,
        load_model_config,
        resolve,
    )
    from threadlog.actors.drivers.responses.driver import ResponsesDriver

_EXPORTS = {
    "ConfigError": "threadlog.actors.drivers.responses.config",
    "ModelConfig": "threadlog.actors.drivers.responses.config",
    "Provider": "threadlog.actors.drivers.responses.config",
    "load_model_config": "threadlog.actors.drivers.responses.config",
    "resolve": "threadlog.actors.drivers.responses.config",
    "ResponsesDriver": "threadlog.actors.drivers.responses.driver",
}

__all__ = [
    "ConfigError",
    "ModelConfig",
    "Provider",
    "ResponsesDriver",
    "load_model_config",
    "resolve",
]


__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)
