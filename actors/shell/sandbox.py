"""The read surface a thread's sandbox policy grants commands (pure).

Codex's sandbox policy (``turn_context.sandbox_policy``, on-disk spelling) may say what a
command may *read*: ``read-only`` carries ``access`` and ``workspace-write`` carries
``read_only_access``, each either ``{"type": "full-access"}`` or ``{"type": "restricted",
"include_platform_defaults": …, "readable_roots": [...]}``. A policy that says nothing
about reads grants full read access, as in Codex. Anything malformed is read as the most
restrictive surface, so a typo can never widen what a command may see.
"""

from __future__ import annotations

from typing import Any

import msgspec


class FullAccess(msgspec.Struct, frozen=True, tag_field="type", tag="full-access"):
    """Commands may read anything."""


class RestrictedAccess(msgspec.Struct, frozen=True, tag_field="type", tag="restricted"):
    """Commands may read only the platform defaults (if included) and these roots."""

    include_platform_defaults: bool = True
    readable_roots: list[str] = []


ReadAccess = FullAccess | RestrictedAccess
_NOTHING = RestrictedAccess(include_platform_defaults=False, readable_roots=[])


def _access(raw: Any) -> ReadAccess:
    if raw is None:
        return FullAccess()
    if not isinstance(raw, dict):
        return _NOTHING
    kind = raw.get("type")
    if kind in ("full-access", "fullAccess", "full_access"):
        return FullAccess()
    if kind != "restricted":
        return _NOTHING
    defaults = raw.get("include_platform_defaults", raw.get("includePlatformDefaults", True))
    roots = raw.get("readable_roots", raw.get("readableRoots", []))
    if not isinstance(defaults, bool) or not isinstance(roots, list):
        return _NOTHING
    if not all(isinstance(r, str) for r in roots):
        return _NOTHING
    return RestrictedAccess(include_platform_defaults=defaults, readable_roots=list(roots))


def read_access_of(sandbox_policy: Any) -> ReadAccess:
    """What a command may read under ``sandbox_policy`` (on-disk or v2 spelling)."""
    if not isinstance(sandbox_policy, dict):
        return FullAccess()
    kind = sandbox_policy.get("type")
    if kind in ("read-only", "readOnly"):
        return _access(sandbox_policy.get("access"))
    if kind in ("workspace-write", "workspaceWrite"):
        return _access(sandbox_policy.get("read_only_access", sandbox_policy.get("readOnlyAccess")))
    return FullAccess()


def writable_roots_of(sandbox_policy: Any, cwd: str, tmpdir: str | None) -> tuple[str, ...] | None:
    """Where a patch may write under ``sandbox_policy``: ``None`` is anywhere.

    ``danger-full-access`` (or no policy) writes anywhere; ``read-only`` nowhere;
    ``workspace-write`` in the working directory, its ``writable_roots``, ``/tmp`` and
    ``$TMPDIR`` unless the policy excludes them. Anything malformed writes nowhere.
    """
    if sandbox_policy is None:
        return None
    if not isinstance(sandbox_policy, dict):
        return ()
    kind = sandbox_policy.get("type")
    if kind in ("danger-full-access", "dangerFullAccess", "external-sandbox", "externalSandbox"):
        return None
    if kind not in ("workspace-write", "workspaceWrite"):
        return ()
    extra = sandbox_policy.get("writable_roots", sandbox_policy.get("writableRoots", []))
    if not isinstance(extra, list) or not all(isinstance(r, str) for r in extra):
        return ()
    roots = [cwd, *extra]
    if not sandbox_policy.get("exclude_slash_tmp", sandbox_policy.get("excludeSlashTmp", False)):
        roots.append("/tmp")
    excluded_env = sandbox_policy.get(
        "exclude_tmpdir_env_var", sandbox_policy.get("excludeTmpdirEnvVar", False)
    )
    if tmpdir and not excluded_env:
        roots.append(tmpdir)
    return tuple(roots)
