"""The contract suites of the storage ports: one abstract pytest class per port.

A backend author subclasses the contract and says how to make a fresh store; pytest then
runs every requirement of ``threadlog.store.ports`` against it, the way eventsourcing's
``AggregateRecorderTestCase`` and Akka's ``JournalSpec`` are run against each backend::

    from threadlog.testing.contracts import LogStoreContract

    class TestMyLogStore(LogStoreContract):
        def make_store(self, root):
            return MyLogStore(root)

Each test names the requirement (``L1``…, ``I1``…, ``O1``…) it checks. Importing needs pytest and
hypothesis (the test extra).
"""

from threadlog.testing.contracts.index_store import IndexStoreContract
from threadlog.testing.contracts.leases import ThreadLeasesContract
from threadlog.testing.contracts.listing import ListingContract
from threadlog.testing.contracts.log_store import LogStoreContract

__all__ = ["IndexStoreContract", "ListingContract", "LogStoreContract", "ThreadLeasesContract"]
