"""Workflows: usage nobody claims, given to the configured workflow whose rule matches it first.

Invariant: only unattributed usage is matched, so a person's own usage stays theirs; a usage row goes
to at most one workflow, the first in config order whose rule names its identity or, failing that, its
tool (a rule's identities are checked before the next rule is tried). Workflow outcomes are scored by
`outcome_kinds:` (points per unit); a workflow's cost per outcome is its spend over its outcome points.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.config.finops import WorkflowConfig
from bot.core.facts import UsageFact

WORKFLOW_IDENTITY = "workflow"  # outcomes of a workflow are stored against the identity workflow:<name>
Unattributed = tuple[UsageFact, str, str]  # a usage fact with its identity's kind and value


@dataclass(frozen=True)
class WorkflowRule:
    name: str
    team: str
    identities: frozenset[tuple[str, str]]
    tools: frozenset[str]

    def matches(self, kind: str, value: str, tool: str) -> bool:
        """Identity values compare without case (feeds lower-case some kinds, a config may not)."""
        return (kind, value.lower()) in self.identities or tool in self.tools


def rules_of(workflows: Iterable[WorkflowConfig]) -> tuple[WorkflowRule, ...]:
    return tuple(
        WorkflowRule(w.name, w.team, frozenset((k, v.lower()) for k, v in w.match.identities()),
                     frozenset(w.match.tool))
        for w in workflows
    )


def workflow_of(rules: Sequence[WorkflowRule], kind: str, value: str, tool: str) -> WorkflowRule | None:
    """The first rule that matches: config order decides, as the README documents."""
    return next((rule for rule in rules if rule.matches(kind, value, tool)), None)


def split_unattributed(
    rows: Iterable[Unattributed], rules: Sequence[WorkflowRule],
) -> tuple[list[tuple[UsageFact, WorkflowRule]], list[Unattributed]]:
    """(usage that is now a workflow's, usage that stays unattributed)."""
    flows: list[tuple[UsageFact, WorkflowRule]] = []
    rest: list[Unattributed] = []
    for fact, kind, value in rows:
        rule = workflow_of(rules, kind, value, fact.tool)
        if rule is None:
            rest.append((fact, kind, value))
        else:
            flows.append((fact, rule))
    return flows, rest


@dataclass
class WorkflowCost:
    """One workflow's spend and outcomes over a period, and what an outcome cost."""

    name: str
    team: str
    spend_usd: float = 0.0
    unpriced_models: set[str] = field(default_factory=set)
    outcomes: dict[str, float] = field(default_factory=dict)  # kind -> units
    points: float = 0.0
    unknown_kinds: set[str] = field(default_factory=set)  # outcomes of kinds `outcome_kinds:` does not score

    @property
    def cost_per_point(self) -> float | None:
        return self.spend_usd / self.points if self.points > 0 else None

    def cost_per_unit(self, kind: str) -> float | None:
        units = self.outcomes.get(kind, 0.0)
        return self.spend_usd / units if units > 0 else None

    def note(self, configured_kinds: Sequence[str]) -> str | None:
        """What the figures cannot say, in a sentence; None when they say it all."""
        if self.spend_usd > 0 and not configured_kinds:
            return f"{self.name} has spend but no outcome kind: add outcome_kinds to it to get a cost per outcome"
        if self.spend_usd > 0 and self.points <= 0:
            return f"{self.name} has spend but no outcome reported this period"
        return None

    def as_json(self, configured_kinds: Sequence[str] = ()) -> dict[str, Any]:
        return {
            "workflow": self.name, "team": self.team, "spend_usd": round(self.spend_usd, 6),
            "unpriced_models": sorted(self.unpriced_models), "outcomes": dict(sorted(self.outcomes.items())),
            "outcome_points": self.points, "cost_per_point_usd": self.cost_per_point,
            "cost_per_outcome_usd": {kind: self.cost_per_unit(kind) for kind in sorted(self.outcomes)},
            "note": self.note(configured_kinds),
        }


def workflow_costs(
    rules: Sequence[WorkflowRule], spend: Iterable[tuple[str, float | None, str]],
    outcomes: Iterable[tuple[str, str, float]], points: Mapping[str, float],
) -> dict[str, WorkflowCost]:
    """Per workflow: `spend` is (workflow, USD or None when unpriced, model); `outcomes` (workflow, kind, units)."""
    costs = {rule.name: WorkflowCost(rule.name, rule.team) for rule in rules}
    for name, usd, model in spend:
        cost = costs[name]
        if usd is None:
            cost.unpriced_models.add(model)
        else:
            cost.spend_usd += usd
    units: dict[tuple[str, str], float] = defaultdict(float)
    for name, kind, quantity in outcomes:
        if name in costs:
            units[(name, kind)] += quantity
    for (name, kind), quantity in units.items():
        cost = costs[name]
        cost.outcomes[kind] = quantity
        if kind in points:
            cost.points += quantity * points[kind]
        else:
            cost.unknown_kinds.add(kind)
    return costs


def suggested_name(kind: str, value: str) -> str:
    """A workflow name for an unmapped service identity: its own name where it has one, else kind and value."""
    base = value if kind in ("anthropic_key_name", "litellm") else f"{kind}-{value[-8:]}"
    slug = re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-.")
    return slug or "workflow"


MATCH_KEY = {"anthropic_workspace": "anthropic_workspace", "api_key": "api_key",
             "anthropic_key_name": "api_key_name", "openai_project": "openai_project", "litellm": "litellm_user"}


def suggestion(kind: str, value: str) -> str | None:
    """The `workflows:` entry that would claim an unmapped service identity, as one line of YAML."""
    key = MATCH_KEY.get(kind)
    if key is None:
        return None
    return f"- {{name: {suggested_name(kind, value)}, team: TEAM, match: {{{key}: {value}}}}}"
