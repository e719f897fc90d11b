"""threadlog: an event-sourced actor runtime for agent conversation threads.

It speaks the Codex CLI's on-disk rollout format and its app-server thread API. This
module is the host API, curated the way ``trio/__init__.py`` is: everything a program that
embeds threadlog needs, under one name, with the layers behind it (``threadlog.events``,
``.store``, ``.projections``, ``.actors``) free to move. ``threadlog.testing`` holds the
public test helpers.

Names are loaded on first use (PEP 562), so ``import threadlog`` costs nothing a command
does not use: ``threadlog --version`` must not pay for trio, SQLite and every fold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from threadlog.events import __version__
from threadlog.events.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from threadlog.actors.drivers.protocol import (
        Driver,
        DriverError,
        DynamicToolResult,
        ExecResult,
        PatchResult,
        TurnHandle,
        TurnRequest,
    )
    from threadlog.actors.drivers.responses import (
        ModelConfig,
        Provider,
        ResponsesDriver,
        load_model_config,
    )
    from threadlog.actors.drivers.scripted import ScriptedDriver
    from threadlog.actors.runtime.host_api import Runtime
    from threadlog.actors.runtime.host_calls import (
        ApprovalDecision,
        ApprovalHandler,
        DynamicToolHandler,
        HostCalls,
    )
    from threadlog.actors.runtime.settings import ThreadSettings
    from threadlog.events.errors import (
        ArchivedThreadNotFoundError,
        CorruptRolloutError,
        InvalidRequestError,
        InvalidThreadIdError,
        NoRunningTurnError,
        NotMaterializedError,
        RealtimeError,
        ThreadError,
        ThreadLockedError,
        ThreadNotFoundError,
        ThreadNotLoadedError,
        ThreadOwnedElsewhereError,
        ThreadShuttingDownError,
        TurnAlreadyRunningError,
    )
    from threadlog.events.notifications import Notification
    from threadlog.events.ops import (
        ImageUserInput,
        LocalImageUserInput,
        Op,
        TextUserInput,
        UserInputItem,
        UserTurn,
    )
    from threadlog.events.rollout import DynamicToolSpec
    from threadlog.events.views import Thread, ThreadStatus, Turn, TurnError, TurnStatus
    from threadlog.projections.index.listing import ListParams, ListResult
    from threadlog.projections.policy import PersistenceMode
    from threadlog.store.files import FileLogStore
    from threadlog.store.jetstream_log import JetStreamLogStore
    from threadlog.store.jetstream_stream import DurabilityError
    from threadlog.store.pg_index import PostgresIndex
    from threadlog.store.ports import Durability, IndexStore, LogStore, ThreadLeases
    from threadlog.store.sqlite_index import SqliteIndex

_EXPORTS: dict[str, str] = {
    # the runtime and its settings
    "Runtime": "threadlog.actors.runtime.host_api",
    "ThreadSettings": "threadlog.actors.runtime.settings",
    # the drivers: a model over the Responses API, and the scripted one
    "ResponsesDriver": "threadlog.actors.drivers.responses",
    "ModelConfig": "threadlog.actors.drivers.responses",
    "Provider": "threadlog.actors.drivers.responses",
    "load_model_config": "threadlog.actors.drivers.responses",
    "ScriptedDriver": "threadlog.actors.drivers.scripted",
    "Durability": "threadlog.store.ports",
    # where threads live: the ports, the embedded default, the cluster's backends
    "LogStore": "threadlog.store.ports",
    "IndexStore": "threadlog.store.ports",
    "ThreadLeases": "threadlog.store.ports",
    "FileLogStore": "threadlog.store.files",
    "SqliteIndex": "threadlog.store.sqlite_index",
    "JetStreamLogStore": "threadlog.store.jetstream_log",
    "DurabilityError": "threadlog.store.jetstream_stream",
    "PostgresIndex": "threadlog.store.pg_index",
    "PersistenceMode": "threadlog.projections.policy",
    # the model seam
    "Driver": "threadlog.actors.drivers.protocol",
    "DriverError": "threadlog.actors.drivers.protocol",
    "DynamicToolResult": "threadlog.actors.drivers.protocol",
    "ExecResult": "threadlog.actors.drivers.protocol",
    "PatchResult": "threadlog.actors.drivers.protocol",
    "TurnHandle": "threadlog.actors.drivers.protocol",
    "TurnRequest": "threadlog.actors.drivers.protocol",
    # what the runtime asks of the host
    "ApprovalDecision": "threadlog.actors.runtime.host_calls",
    "ApprovalHandler": "threadlog.actors.runtime.host_calls",
    "DynamicToolHandler": "threadlog.actors.runtime.host_calls",
    "HostCalls": "threadlog.actors.runtime.host_calls",
    # what the host sees
    "Notification": "threadlog.events.notifications",
    "Thread": "threadlog.events.views",
    "ThreadStatus": "threadlog.events.views",
    "Turn": "threadlog.events.views",
    "TurnError": "threadlog.events.views",
    "TurnStatus": "threadlog.events.views",
    "ListParams": "threadlog.projections.index.listing",
    "ListResult": "threadlog.projections.index.listing",
    # what the host sends
    "Op": "threadlog.events.ops",
    "UserTurn": "threadlog.events.ops",
    "UserInputItem": "threadlog.events.ops",
    "TextUserInput": "threadlog.events.ops",
    "ImageUserInput": "threadlog.events.ops",
    "LocalImageUserInput": "threadlog.events.ops",
    "DynamicToolSpec": "threadlog.events.rollout",
    # errors
    "ThreadError": "threadlog.events.errors",
    "InvalidRequestError": "threadlog.events.errors",
    "InvalidThreadIdError": "threadlog.events.errors",
    "ThreadNotFoundError": "threadlog.events.errors",
    "ArchivedThreadNotFoundError": "threadlog.events.errors",
    "ThreadNotLoadedError": "threadlog.events.errors",
    "NotMaterializedError": "threadlog.events.errors",
    "CorruptRolloutError": "threadlog.events.errors",
    "TurnAlreadyRunningError": "threadlog.events.errors",
    "NoRunningTurnError": "threadlog.events.errors",
    "ThreadLockedError": "threadlog.events.errors",
    "ThreadOwnedElsewhereError": "threadlog.events.errors",
    "LogFullError": "threadlog.events.errors",
    "ThreadShuttingDownError": "threadlog.events.errors",
    "RealtimeError": "threadlog.events.errors",
}

__all__ = [
    "ApprovalDecision",
    "ApprovalHandler",
    "ArchivedThreadNotFoundError",
    "CorruptRolloutError",
    "Driver",
    "DriverError",
    "Durability",
    "DurabilityError",
    "DynamicToolHandler",
    "DynamicToolResult",
    "DynamicToolSpec",
    "ExecResult",
    "FileLogStore",
    "HostCalls",
    "ImageUserInput",
    "IndexStore",
    "InvalidRequestError",
    "InvalidThreadIdError",
    "JetStreamLogStore",
    "ListParams",
    "ListResult",
    "LocalImageUserInput",
    "LogFullError",
    "LogStore",
    "ModelConfig",
    "NoRunningTurnError",
    "NotMaterializedError",
    "Notification",
    "Op",
    "PatchResult",
    "PersistenceMode",
    "PostgresIndex",
    "Provider",
    "RealtimeError",
    "ResponsesDriver",
    "Runtime",
    "ScriptedDriver",
    "SqliteIndex",
    "TextUserInput",
    "Thread",
    "ThreadError",
    "ThreadLeases",
    "ThreadLockedError",
    "ThreadNotFoundError",
    "ThreadNotLoadedError",
    "ThreadOwnedElsewhereError",
    "ThreadSettings",
    "ThreadShuttingDownError",
    "ThreadStatus",
    "Turn",
    "TurnAlreadyRunningError",
    "TurnError",
    "TurnHandle",
    "TurnRequest",
    "TurnStatus",
    "UserInputItem",
    "UserTurn",
    "__version__",
    "load_model_config",
]


__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)


def __dir__() -> list[str]:
    return __all__
