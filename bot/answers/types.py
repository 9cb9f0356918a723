"""The answers to self-service commands: one frozen type per kind, and `Answer`, their union.

Invariant: an answer is data, never platform markup. Nothing in here is Slack mrkdwn or Markdown:
commands to type are `Code` spans and emphasis is `Strong`, and each adapter (Slack Block Kit,
Teams Adaptive Cards, plain text in `bot.answers.text`) decides how they look. A personal answer
only ever holds the asker's own figures; `TeamAnswer` holds a guarded team digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, cast

from bot.answers.fit import WorkFit
from bot.answers.me import MeReport
from bot.config.org import DEFAULT_RETENTION_DAYS
from bot.core.metrics import PersonWeek
from bot.digest.build import Digest
from bot.governance.access import Exposure


@dataclass(frozen=True)
class Code:
    """Something to type: a command or a config key."""

    text: str


@dataclass(frozen=True)
class Strong:
    """Words to stand out."""

    text: str


Span = str | Code | Strong
Line = tuple[Span, ...]


class AnswerBase:
    """What every answer shares: its kind's name, and a plain-text rendering."""

    __slots__ = ()
    kind: ClassVar[str]

    @property
    def text(self) -> str:
        """The answer as plain text (`bot.answers.text.plain_text`): for terminals, logs and fallbacks."""
        from bot.answers.text import plain_text  # text.py renders these types, so it is imported when asked

        return plain_text(cast("Answer", self))


@dataclass(frozen=True)
class HelpAnswer(AnswerBase):
    kind: ClassVar[str] = "help"
    prefix: str  # how commands start on this platform: "/tokenworth", "@tokenworth"
    entries: tuple[tuple[str, str], ...]  # (usage after the prefix, what it answers)


@dataclass(frozen=True)
class MeAnswer(AnswerBase):
    """The asker's own weeks, oldest first: one report, or one per week of a period."""

    kind: ClassVar[str] = "me"
    reports: tuple[MeReport, ...]
    fit: WorkFit | None = None  # the asker's work beside the team's evidence, to the end of the latest week

    @property
    def latest(self) -> MeReport:
        return self.reports[-1]


@dataclass(frozen=True)
class TrendAnswer(AnswerBase):
    """The asker's figures for each of their last weeks, oldest first."""

    kind: ClassVar[str] = "trend"
    weeks: tuple[PersonWeek, ...]


@dataclass(frozen=True)
class PreviewAnswer(AnswerBase):
    """What last week's manager digest showed about the asker."""

    kind: ClassVar[str] = "preview"
    team: str | None  # None: in no team, so in no digest
    digest: Digest | None = None
    kudos_opt_in: bool = False
    named_as: str = ""  # how a kudos line names the asker
    shipped: str = ""  # what the asker shipped that week, as a kudos line says it ("" for nothing)
    kudos_command: str = "kudos on"  # the command that opts in, with the platform's prefix
    named: bool = False  # whether the digest's kudos name the asker
    rules: tuple[str, ...] = ()  # each disclosure rule that decided what the digest shows of the asker's week


@dataclass(frozen=True)
class KudosAnswer(AnswerBase):
    kind: ClassVar[str] = "kudos"
    on: bool


@dataclass(frozen=True)
class PrivacyAnswer(AnswerBase):
    """What is stored about the asker, how often figures including them were shown and to whom, how long kept."""

    kind: ClassVar[str] = "privacy"
    sources: tuple[str, ...]  # the feeds holding anything about the asker
    min_group_size: int
    retention_days: int = DEFAULT_RETENTION_DAYS
    shown: tuple[Exposure, ...] = ()  # per surface and audience (channels and roles, never other people's names)


@dataclass(frozen=True)
class TeamAnswer(AnswerBase):
    """A team's digest, for one of its configured managers, after the differencing guard."""

    kind: ClassVar[str] = "team"
    digest: Digest


@dataclass(frozen=True)
class Refusal(AnswerBase):
    """A manager-only answer asked for by someone who is not that team's manager: who can (by role, never by name)."""

    kind: ClassVar[str] = "refusal"
    team: str | None = None  # the team asked about; None when no team was named and the asker has none
    unknown: str | None = None  # a team name that is not configured


@dataclass(frozen=True)
class UsageProblem(AnswerBase):
    """The command could not be read: what was wrong, then the help."""

    kind: ClassVar[str] = "usage"
    problem: Line
    help: HelpAnswer


@dataclass(frozen=True)
class NotLinked(AnswerBase):
    """The asker is not in the directory (yet): how to get there, and no numbers."""

    kind: ClassVar[str] = "unknown_person"


Answer = (
    HelpAnswer | MeAnswer | TrendAnswer | PreviewAnswer | KudosAnswer | PrivacyAnswer | TeamAnswer
    | Refusal | UsageProblem | NotLinked
)
PRIVATE = (MeAnswer, TrendAnswer, PreviewAnswer, PrivacyAnswer)  # answers holding the asker's own data


@dataclass(frozen=True)
class Home:
    """Everything a personal home page shows: `me` and `trend` as asked with no arguments, from one read."""

    me: MeAnswer
    trend: TrendAnswer

