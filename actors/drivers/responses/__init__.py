"""The Responses API model driver: config as Codex reads it, the wire, the stream, the loop."""

from threadlog.actors.drivers.responses.config import (
    ConfigError,
    ModelConfig,
    Provider,
    load_model_config,
    resolve,
)
from threadlog.actors.drivers.responses.driver import ResponsesDriver

__all__ = [
    "ConfigError",
    "ModelConfig",
    "Provider",
    "ResponsesDriver",
    "load_model_config",
    "resolve",
]
