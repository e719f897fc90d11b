"""Which threads this host owns, when many hosts share a log and an index.

A thread is claimed (``ThreadLeases.claim``) before this host loads it or creates it, and
given back when its actor stops; one task renews all of this host's leases in one call a
third of the lease's life apart. A claim that finds another host's live lease is refused
with ``ThreadOwnedElsewhereError`` naming that host, so a client learns where to go. If
renewal fails for longer than a lease lives, this host's leases may have been taken over:
the log's own fencing (an append at the expected position, per store) refuses its stale
writes, as ``store.ports`` requires of a shared log.
"""

from __future__ import annotations

import trio

from threadlog.events.errors import ThreadOwnedElsewhereError
from threadlog.store.lazylog import get_logger
from threadlog.store.ports import ThreadLeases, ThreadOwnedError

log = get_logger("threadlog.ownership")
LEASE_MS = 30_000


class Ownership:
    """This host's side of the thread leases."""

    def __init__(self, leases: ThreadLeases, host: str, lease_ms: int = LEASE_MS) -> None:
        self.leases = leases
        self.host = host
        self.lease_ms = lease_ms

    async def claim(self, thread_id: str) -> None:
        """Own ``thread_id`` (renewing our own claim), or say who does."""
        try:
            await trio.to_thread.run_sync(self.leases.claim, thread_id, self.host, self.lease_ms)
        except ThreadOwnedError as exc:
            raise ThreadOwnedElsewhereError(
                f"thread {thread_id} is owned by host {exc.owner}; send its requests there",
                exc.owner,
            ) from None

    async def release(self, thread_id: str) -> None:
        """Give ``thread_id`` up (a failure only delays the next owner until expiry)."""
        try:
            await trio.to_thread.run_sync(self.leases.release, thread_id, self.host)
        except Exception as exc:
            log.warning("lease_release_failed", thread_id=thread_id, error=str(exc))

    async def renew_forever(self) -> None:
        """Renew every lease of this host, a third of their life apart."""
        while True:
            await trio.sleep(self.lease_ms / 3000)
            try:
                await trio.to_thread.run_sync(self.leases.renew, self.host, self.lease_ms)
            except Exception as exc:
                log.warning("lease_renewal_failed", host=self.host, error=str(exc))
