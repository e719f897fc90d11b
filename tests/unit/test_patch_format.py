"""Codex's apply_patch format: parsing, applying chunks, and the files side (verify first)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadlog.actors.shell.apply_patch import apply_patch
from threadlog.actors.shell.patch_format import (
    AddFile,
    Chunk,
    DeleteFile,
    PatchError,
    UpdateFile,
    apply_update,
    parse,
    unified_diff,
)
from threadlog.actors.shell.sandbox import writable_roots_of


def patch(*body: str) -> str:
    return "\n".join(["*** Begin Patch", *body, "*** End Patch"]) + "\n"


def test_every_hunk_kind_parses() -> None:
    hunks = parse(
        patch(
            "*** Add File: a.txt",
            "+one",
            "+two",
            "*** Delete File: b.txt",
            "*** Update File: c.py",
            "*** Move to: d.py",
            "@@ def main():",
            " keep",
            "-old",
            "+new",
            "*** End of File",
        )
    )
    assert hunks == [
        AddFile("a.txt", "one\ntwo\n"),
        DeleteFile("b.txt"),
        UpdateFile("c.py", "d.py", (Chunk("def main():", ("keep", "old"), ("keep", "new"), True),)),
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("hello", "first line"),
        ("*** Begin Patch\n*** Add File: a\n+x\n", "last line"),
        (patch("*** Frobnicate: a"), "not a hunk header"),
        (patch("*** Update File: a"), "is empty"),
        (patch("*** Update File: a", "@@", "?bad"), "must start with"),
        (patch(), "changes no file"),
    ],
)
def test_a_bad_patch_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(PatchError, match=says):
        parse(text)


def test_chunks_apply_in_order_after_their_anchor() -> None:
    before = "def a():\n    x = 1\ndef b():\n    x = 1\n"
    chunks = (Chunk("def b():", ("    x = 1",), ("    x = 2",)),)
    assert apply_update("f.py", before, chunks) == "def a():\n    x = 1\ndef b():\n    x = 2\n"


def test_whitespace_differences_still_match_like_codex() -> None:
    chunks = (Chunk(None, ("x = 1  ",), ("x = 2",)),)
    assert apply_update("f.py", "x = 1\n", chunks) == "x = 2\n"


def test_missing_lines_are_an_error_naming_them() -> None:
    with pytest.raises(PatchError, match=re.escape("Failed to find expected lines in f.py:\nnope")):
        apply_update("f.py", "x\n", (Chunk(None, ("nope",), ("yes",)),))


def test_an_end_of_file_chunk_matches_the_last_occurrence() -> None:
    chunks = (Chunk(None, ("x",), ("y",), at_eof=True),)
    assert apply_update("f", "x\nmid\nx\n", chunks) == "x\nmid\ny\n"


def test_the_diff_is_recorded_with_one_line_of_context() -> None:
    assert (
        unified_diff("Hello\nWorld\n", "Hello\nCodex\n")
        == "@@ -1,2 +1,2 @@\n Hello\n-World\n+Codex\n"
    )


@given(st.lists(st.text(alphabet="abc \t", max_size=6), min_size=1, max_size=8), st.data())
def test_replacing_a_line_changes_only_that_line(lines: list[str], data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(lines) - 1))
    before = "".join(f"{line}\n" for line in lines)
    context = lines[:at]
    chunk = Chunk(None, (*context, lines[at]), (*context, "REPLACED"))
    after = apply_update("f", before, [chunk]).split("\n")[:-1]
    assert after.count("REPLACED") == 1
    assert len(after) == len(lines)


def test_the_files_change_only_when_the_whole_patch_applies(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("keep\n")
    bad = patch("*** Add File: new.txt", "+x", "*** Update File: keep.txt", "@@", "-absent", "+y")
    outcome = apply_patch(bad, str(tmp_path), None)
    assert not outcome.success and outcome.changes == {}
    assert outcome.stderr.startswith(
        "apply_patch verification failed: Failed to find expected lines"
    )
    assert not (tmp_path / "new.txt").exists()
    assert (tmp_path / "keep.txt").read_text() == "keep\n"


def test_move_delete_and_add_land_with_their_changes_map(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    text = patch(
        "*** Update File: a.txt",
        "*** Move to: sub/b.txt",
        "@@",
        " one",
        "-two",
        "+2",
        "*** Delete File: gone.txt",
        "*** Add File: gone.txt",
        "+back",
    )
    outcome = apply_patch(text, str(tmp_path), None)
    assert outcome.success, outcome.stderr
    assert not (tmp_path / "a.txt").exists()
    assert (tmp_path / "sub/b.txt").read_text() == "one\n2\n"
    assert (tmp_path / "gone.txt").read_text() == "back\n"  # deleted, then added again
    update = outcome.changes[str(tmp_path / "a.txt")]
    assert update["type"] == "update" and update["move_path"] == str(tmp_path / "sub/b.txt")
    assert (
        outcome.stdout
        == "Success. Updated the following files:\nA gone.txt\nM sub/b.txt\nD gone.txt\n"
    )


def test_paths_outside_the_writable_roots_are_refused(tmp_path: Path) -> None:
    roots = writable_roots_of(
        {"type": "workspace-write", "exclude_slash_tmp": True}, str(tmp_path / "w"), None
    )
    assert roots == (str(tmp_path / "w"),)
    outcome = apply_patch(patch("*** Add File: ../escape.txt", "+x"), str(tmp_path / "w"), roots)
    assert not outcome.success and "outside the sandbox's writable roots" in outcome.stderr
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, None),
        ({"type": "danger-full-access"}, None),
        ({"type": "read-only"}, ()),
        ("garbage", ()),
        ({"type": "workspace-write", "writable_roots": ["/data"]}, ("/w", "/data", "/tmp", "/t")),
        (
            {"type": "workspace-write", "exclude_tmpdir_env_var": True, "exclude_slash_tmp": True},
            ("/w",),
        ),
        ({"type": "workspace-write", "writable_roots": "oops"}, ()),
    ],
)
def test_writable_roots_follow_the_policy(policy: object, expected: object) -> None:
    assert writable_roots_of(policy, "/w", "/t") == expected
