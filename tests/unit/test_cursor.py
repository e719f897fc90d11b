import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadlog.events.rows import Anchor as Cursor
from threadlog.projections.cursor import CursorError, decode_cursor, encode_cursor

TID = "01a20ab1-0ea2-7d20-b9b7-cee0ff50827c"


@given(
    key=st.sampled_from(["created_at", "updated_at"]),
    value=st.integers(min_value=0, max_value=2**53),
)
def test_cursor_round_trips(key: str, value: int) -> None:
    cursor = Cursor(sort_key=key, value_ms=value, thread_id=TID)  # type: ignore[arg-type]
    assert decode_cursor(encode_cursor(cursor), sort_key=key) == cursor  # type: ignore[arg-type]


def test_cursor_from_another_sort_key_is_refused() -> None:
    text = encode_cursor(Cursor(sort_key="created_at", value_ms=5, thread_id=TID))
    with pytest.raises(CursorError, match="sort key"):
        decode_cursor(text, sort_key="updated_at")


def _forge(payload: bytes) -> str:
    return "tl1." + base64.urlsafe_b64encode(payload).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "tl1.",
        "tl1.!!!!",
        "tl2." + encode_cursor(Cursor(sort_key="created_at", value_ms=1, thread_id=TID))[4:],
        "2025-03-04T09-00-00|" + TID,
        _forge(b'{"k":"created_at","t":1,"i":"../../etc/passwd"}'),
        _forge(b'{"k":"created_at","t":-1,"i":"' + TID.encode() + b'"}'),
        _forge(b'{"k":"name","t":1,"i":"' + TID.encode() + b'"}'),
        _forge(b'{"k":"created_at","t":"1; DROP TABLE threads","i":"' + TID.encode() + b'"}'),
        _forge(b"[1,2,3]"),
        "tl1." + "A" * 600,
        None,
        42,
    ],
)
def test_malformed_cursors_are_clear_errors(text: object) -> None:
    with pytest.raises(CursorError):
        decode_cursor(text, sort_key="created_at")


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    with contextlib.suppress(CursorError):
        decode_cursor(text, sort_key="created_at")
