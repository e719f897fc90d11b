"""serve answers ``initialize`` before any index work, and other requests once it is done."""

from __future__ import annotations

from pathlib import Path

import apsw
import trio

from tests.support.rpc_client import RpcClient, close_server, start_server
from threadlog.store.statedb import StateDb


def _home_needing_a_migration(home: Path) -> Path:
    """A state DB one version behind (the search index of v7 not made yet)."""
    StateDb.for_home(home).close()
    path = home / "threadlog.sqlite"
    db = apsw.Connection(str(path))
    for trigger in ("threads_search_insert", "threads_search_delete", "threads_search_update"):
        db.execute(f"DROP TRIGGER {trigger}")
    db.execute("DROP TABLE threads_search")
    db.execute("PRAGMA user_version = 6")
    db.close()
    return path


async def test_initialize_is_answered_while_the_index_is_still_opening(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = _home_needing_a_migration(home)
    # Another process holds the database's write lock: serve's migration must wait for it.
    holder = apsw.Connection(str(path))
    holder.execute("BEGIN IMMEDIATE")
    async with start_server(home) as process:
        client = RpcClient(process)
        with trio.fail_after(10):
            info = await client.initialize()
        assert info["codexHome"] == str(home.resolve())
        request = next(client.ids)
        await client.send_raw(b'{"id":%d,"method":"thread/list","params":{}}\n' % request)
        with trio.move_on_after(0.5) as waited:
            await client.response(request)
        assert waited.cancelled_caught, "thread/list was answered before the index opened"
        holder.execute("ROLLBACK")
        with trio.fail_after(15):
            answer = await client.response(request)
        assert answer["result"]["data"] == []
        await close_server(process)
    holder.close()
    reopened = StateDb.for_home(home)
    assert reopened.query("SELECT count(*) FROM threads_search")[0][0] == 0  # migrated
    reopened.close()
