"""The contract of ``ThreadLeases`` (requirements O1-O5 of ``store.ports``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from threadlog.events.ids import Uuid7Generator
from threadlog.store.ports import ThreadLeases, ThreadOwnedError

NOW_MS = 1_800_000_000_000
TTL_MS = 10_000


class Clock:
    """A settable clock in Unix milliseconds."""

    def __init__(self, ms: int = NOW_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


class ThreadLeasesContract:
    """Subclass and implement ``make_leases``."""

    def make_leases(self, clock_ms: Callable[[], int]) -> ThreadLeases:
        """A fresh lease store whose time is ``clock_ms``."""
        raise NotImplementedError

    def fresh(self) -> tuple[ThreadLeases, Clock, str]:
        """A store, its clock, and a thread id nobody has claimed."""
        clock = Clock()
        return self.make_leases(clock), clock, Uuid7Generator()()

    def test_o1_a_free_thread_is_claimed_and_a_held_one_refused_naming_its_owner(self) -> None:
        leases, clock, tid = self.fresh()
        assert leases.owner(tid) is None
        first = leases.claim(tid, "host-a", TTL_MS)
        assert (first.owner, first.epoch, first.expires_at_ms) == ("host-a", 1, NOW_MS + TTL_MS)
        with pytest.raises(ThreadOwnedError) as refused:
            leases.claim(tid, "host-b", TTL_MS)
        assert refused.value.owner == "host-a" and "host-a" in str(refused.value)
        clock.ms += 1000
        again = leases.claim(tid, "host-a", TTL_MS)  # the owner renews, same epoch
        assert (again.epoch, again.expires_at_ms) == (1, NOW_MS + 1000 + TTL_MS)

    def test_o2_an_expired_lease_is_taken_over_with_the_next_epoch(self) -> None:
        leases, clock, tid = self.fresh()
        leases.claim(tid, "host-a", TTL_MS)
        clock.ms += TTL_MS  # expired exactly now
        taken = leases.claim(tid, "host-b", TTL_MS)
        assert (taken.owner, taken.epoch) == ("host-b", 2)
        with pytest.raises(ThreadOwnedError):
            leases.claim(tid, "host-a", TTL_MS)
        owner = leases.owner(tid)
        assert owner is not None and (owner.owner, owner.epoch) == ("host-b", 2)

    def test_o3_renewal_extends_one_hosts_live_leases_only(self) -> None:
        leases, clock, tid = self.fresh()
        other, expired = Uuid7Generator()(), Uuid7Generator()()
        leases.claim(tid, "host-a", TTL_MS)
        leases.claim(other, "host-b", TTL_MS)
        leases.claim(expired, "host-a", 1)
        clock.ms += 5
        assert leases.renew("host-a", TTL_MS) == 1  # the expired one is not revived
        mine, theirs = leases.owner(tid), leases.owner(other)
        assert mine is not None and mine.expires_at_ms == NOW_MS + 5 + TTL_MS
        assert theirs is not None and theirs.expires_at_ms == NOW_MS + TTL_MS
        gone = leases.owner(expired)
        assert gone is not None and gone.expires_at_ms == NOW_MS + 1

    def test_o4_only_the_owner_releases_and_the_next_epoch_is_higher(self) -> None:
        leases, _, tid = self.fresh()
        leases.claim(tid, "host-a", TTL_MS)
        assert leases.release(tid, "host-b") is False
        assert leases.release(tid, "host-a") is True
        assert leases.release(tid, "host-a") is False  # already free
        after = leases.claim(tid, "host-b", TTL_MS)
        assert (after.owner, after.epoch) == ("host-b", 2)

    def test_o5_of_racing_claimants_exactly_one_wins(self) -> None:
        leases, _, tid = self.fresh()
        barrier = threading.Barrier(8)
        winners: list[str] = []

        def claim(host: str) -> None:
            barrier.wait()
            try:
                leases.claim(tid, host, TTL_MS)
                winners.append(host)
            except ThreadOwnedError:
                pass

        threads = [threading.Thread(target=claim, args=(f"host-{n}",)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1
        owner = leases.owner(tid)
        assert owner is not None and owner.owner == winners[0]

    @pytest.mark.parametrize("bad", ["../x", "1 OR 1=1", ""])
    def test_ids_from_outside_are_checked(self, bad: str) -> None:
        leases, _, _ = self.fresh()
        with pytest.raises(ValueError):
            leases.claim(bad, "host-a", TTL_MS)
