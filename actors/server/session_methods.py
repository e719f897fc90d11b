"""The methods a client calls around its threads (account, config, models), answered for
what threadlog is: a thread store and runtime that needs no OpenAI account.

``account/read`` says no account is signed in and none is required (the client then runs
without offering a login); ``config/read`` shows the runtime's settings; ``model/list``
lists the one model the runtime's driver is. Nothing here is a stub: each answer is true
of this server, in the shapes of 0.171's schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from threadlog.actors.runtime.host_api import Runtime

Handler = Callable[[Any], Awaitable[Any]]


def session_handlers(runtime: Runtime) -> dict[str, Handler]:
    """The handlers, by method."""

    async def account_read(_raw: Any) -> Any:
        return {"account": None, "requiresOpenaiAuth": False}

    async def config_read(_raw: Any) -> Any:
        settings = runtime.registry.defaults
        return {
            "config": {
                "model": settings.model,
                "model_provider": runtime.listing_provider,
                "model_reasoning_effort": settings.effort,
                "approval_policy": settings.approval_policy
                if isinstance(settings.approval_policy, str)
                else None,
                "developer_instructions": settings.developer_instructions,
            },
            "origins": {},
        }

    async def model_list(_raw: Any) -> Any:
        settings = runtime.registry.defaults
        model = {
            "id": settings.model,
            "model": settings.model,
            "displayName": settings.model,
            "description": "the model of this threadlog runtime's driver",
            "hidden": False,
            "isDefault": True,
            "defaultReasoningEffort": "medium",
            "supportedReasoningEfforts": [
                {"reasoningEffort": "medium", "description": "the driver's only effort"}
            ],
        }
        return {"data": [model], "nextCursor": None}

    async def config_requirements_read(_raw: Any) -> Any:
        # no requirements.toml or managed settings: nothing is imposed on clients
        return {"requirements": None}

    async def skills_list(_raw: Any) -> Any:
        # threadlog's drivers run no skills: there are none to list for any cwd
        return {"data": []}

    async def hooks_list(raw: Any) -> Any:
        # threadlog runs no hooks: each asked-for working directory has none, and no errors
        cwds = raw.get("cwds") if isinstance(raw, dict) else None
        listed = [c for c in cwds if isinstance(c, str)] if isinstance(cwds, list) else []
        return {"data": [{"cwd": c, "hooks": [], "errors": [], "warnings": []} for c in listed]}

    async def plugin_installed(_raw: Any) -> Any:
        # no plugin marketplaces are configured for threadlog's drivers
        return {"marketplaces": [], "marketplaceLoadErrors": []}

    async def collaboration_mode_list(_raw: Any) -> Any:
        # the modes turn/start accepts (plan mode splits <proposed_plan> blocks out)
        return {
            "data": [
                {"name": "Default", "mode": "default", "model": None, "reasoning_effort": None},
                {"name": "Plan", "mode": "plan", "model": None, "reasoning_effort": None},
            ]
        }

    async def bedrock_gov_cloud(_raw: Any) -> Any:
        # threadlog talks to no Bedrock endpoint, so nothing resolves to GovCloud
        return {"isGovCloud": False, "shouldWarn": False}

    async def thread_section_list(_raw: Any) -> Any:
        # threadlog keeps no thread sections (thread/list with a sectionId lists nothing)
        return {"data": [], "nextCursor": None}

    return {
        "threadSection/list": thread_section_list,
        "hooks/list": hooks_list,
        "plugin/installed": plugin_installed,
        "collaborationMode/list": collaboration_mode_list,
        "account/bedrock/checkGovCloudRequirements": bedrock_gov_cloud,
        "skills/list": skills_list,
        "account/read": account_read,
        "config/read": config_read,
        "configRequirements/read": config_requirements_read,
        "model/list": model_list,
    }
