"""A running turn: its id, its cancel scope, who started it, and when it is over."""

from __future__ import annotations

import trio

from threadlog.actors.runtime.host_calls import HostCalls
from threadlog.events.views import TurnError


class ActiveTurn:
    """A running turn; ``host`` is asked for tool calls and approvals during it."""

    def __init__(self, turn_id: str, host: HostCalls, collaboration_mode: str = "default") -> None:
        self.turn_id = turn_id
        self.host = host
        self.collaboration_mode = collaboration_mode
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.failure: TurnError | None = None
