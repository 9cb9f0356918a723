"""The FinOps sections of the org config: workflows, seat prices, budgets and alerts, validated like the rest."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from bot.config.base import Strict as _Strict

if TYPE_CHECKING:
    from bot.config.org import OrgConfig

SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]*")
# A workflow's `match:` keys and the feed identity kind each names; `tool` matches a usage row's tool instead.
WORKFLOW_MATCH_KINDS = {
    "anthropic_workspace": "anthropic_workspace", "api_key": "api_key", "api_key_name": "anthropic_key_name",
    "openai_project": "openai_project", "litellm_user": "litellm", "litellm_key_alias": "litellm",
}
BUILTIN_OUTCOME_KINDS = ("pr_merged", "pr_reverted", "pr_revert", "ticket_closed")
# USD a seat a month; Claude Enterprise is negotiated per contract: set yours under `seats:`.
SEAT_PRICES = {"copilot_business": 19.0, "copilot_enterprise": 39.0, "cursor_teams": 40.0, "claude_team": 30.0,
               "claude_team_premium": 150.0, "claude_enterprise": 60.0}


def _listed(value: Any) -> Any:
    return [str(value)] if isinstance(value, (str, int)) else value


class WorkflowMatch(_Strict):
    """What usage belongs to a workflow: any of these identities, or usage of these tools nobody claims."""

    anthropic_workspace: tuple[str, ...] = ()
    api_key: tuple[str, ...] = ()  # Anthropic or OpenAI API key id
    api_key_name: tuple[str, ...] = ()  # an Anthropic key's name, as Claude Code Analytics reports it
    openai_project: tuple[str, ...] = ()
    litellm_user: tuple[str, ...] = ()  # a LiteLLM (service) user, as the gateway log names it
    litellm_key_alias: tuple[str, ...] = ()  # a LiteLLM virtual key's alias, for requests without a user
    identity: tuple[str, ...] = ()  # any feed identity, as kind:value
    tool: tuple[str, ...] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _listed(value)

    @field_validator("identity")
    @classmethod
    def _kind_value(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            kind, sep, rest = item.partition(":")
            if not sep or not kind or not rest:
                raise ValueError(f"{item!r} is not kind:value")
        return value

    @model_validator(mode="after")
    def _something(self) -> WorkflowMatch:
        if not self.identities() and not self.tool:
            raise ValueError("names no identity and no tool: the workflow would match nothing")
        return self

    def identities(self) -> list[tuple[str, str]]:
        found = [(kind, value) for key, kind in WORKFLOW_MATCH_KINDS.items() for value in getattr(self, key)]
        return found + [tuple(item.split(":", 1)) for item in self.identity]  # type: ignore[misc]


class WorkflowConfig(_Strict):
    """A named unit of AI work (a CI review bot, an agent, a service behind the gateway) and its owner team."""

    name: str
    team: str
    match: WorkflowMatch
    outcome_kinds: tuple[str, ...] = ()  # the `outcome_kinds:` that measure its work

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.fullmatch(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, '-', '_' or '.'")
        return value

    @field_validator("outcome_kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        return _listed(value)


class Budgets(_Strict):
    """USD per calendar month (UTC) per team and per workflow; a warning at `warning_share` of it."""

    teams: dict[str, float] = {}
    workflows: dict[str, float] = {}
    warning_share: float = Field(default=0.8, gt=0, lt=1)

    @field_validator("teams", "workflows")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for name, amount in value.items():
            if not amount > 0 or amount == float("inf"):
                raise ValueError(f"{name}: a budget must be a positive number of USD, not {amount!r}")
        return value


class Alerts(_Strict):
    """Cost per outcome point up by `regression_factor` against the trailing median, with enough volume."""

    regression_factor: float = Field(default=1.5, gt=1)
    trailing_weeks: int = Field(default=4, ge=2, le=12)
    min_points: float = Field(default=10, gt=0)  # outcome points in the week, below which a week is too quiet


def check_workflows(config: OrgConfig, teams: list[str], people: dict[tuple[str, str], str]) -> None:
    """Workflow names are unique, teams and outcome kinds known, and no rule claims a person's identity."""
    names: list[str] = []
    for i, flow in enumerate(config.workflows):
        where = f"workflows[{i}]"
        if flow.name in names:
            raise ValueError(f"{where}.name: workflow {flow.name!r} is defined twice")
        names.append(flow.name)
        if flow.team not in teams:
            raise ValueError(f"{where}.team: {flow.name} names unknown team {flow.team!r}")
        for kind in flow.outcome_kinds:
            if kind not in config.outcome_kinds:
                raise ValueError(f"{where}.outcome_kinds: {kind!r} is not under outcome_kinds")
        for kind, value in flow.match.identities():
            owner = people.get((kind, value.lower()))
            if owner is not None:
                raise ValueError(f"{where}.match: {kind}:{value} is {owner}'s; a person's own usage stays theirs")
    for section, budgets, known in (("teams", config.budgets.teams, teams), ("workflows", config.budgets.workflows,
                                                                               names)):
        for name in budgets:
            if name not in known:
                raise ValueError(f"budgets.{section}.{name}: no such {section[:-1]}")
