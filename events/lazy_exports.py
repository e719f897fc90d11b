"""Module attributes loaded on first use (PEP 562), for curated public ``__init__``s.

``import threadlog`` must not pay for trio, SQLite and every fold before a command uses
them, so a package's ``__init__`` names where each export lives and imports it when it is
first asked for; the value is then kept in the module, so later lookups skip the hook.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    module: str, namespace: dict[str, Any], exports: Mapping[str, str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` importing each of ``exports`` (name -> module) on first use."""

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        namespace[name] = value
        return value

    return __getattr__
