"""The weekly admin digest: the org-level lines no team's manager acts on, for whoever runs tokenworth.

Invariant: team digests carry none of these lines; this digest carries only figures that belong to nobody in
the directory (spend on identities nobody claims, vendors' bills), made by `bot.core.disclosure.disclose` as
`Org` figures, and counts. It never names a person and never shows one person's figures (the identities
themselves are listed only by `tokenworth identities --unmapped`). A line that would say zero is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.disclosure import Org, Sheet, disclose
from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.digest.build import nobodys_usage
from bot.digest.format import money, plural
from bot.digest.reach import data_reach
from bot.digest.summary import NO_DATA, feed_name
from bot.reads.queries import billed_total
from storage.models import Usage, table

ADMIN = "(admin)"  # the ledger's team name for the admin digest: never a valid team of the config
TITLE = "tokenworth admin digest"


@dataclass(frozen=True)
class AdminDigest:
    week: Week
    sheet: Sheet
    reach: Mapping[str, date] = field(default_factory=dict)  # every feed's last data day, org-wide
    has_data: bool = True  # any usage at all this week

    def value(self, key: str) -> float | None:
        return self.sheet.value(key)

    def as_json(self) -> dict[str, object]:
        return {"week": str(self.week), "has_data": self.has_data,
                "figures": {f.key: f.value for f in self.sheet.figures},
                "data_through": {feed: day.isoformat() for feed, day in sorted(self.reach.items())}}


def load_admin_digest(session: Session, config: OrgConfig, prices: PriceTable, week: Week) -> AdminDigest:
    """The org's week: unattributed spend and the identities it sits on, vendors' bills, each feed's reach."""
    nobodys = nobodys_usage(session, config, week)
    spent = [(spend_of(fact, prices) or 0.0, (kind, value)) for fact, kind, value in nobodys]
    unmapped = {who for amount, who in spent if amount > 0}
    candidates = [Org("unattributed_spend_usd", sum(amount for amount, _who in spent)),
                  Org("unmapped_identities", len(unmapped)),
                  *(Org(f"billed:{source}", v) for source, v in sorted(billed_total(session, week.monday,
                                                                                    week.end).items()))]
    has_data = bool(days_with_usage_any(session, week))
    return AdminDigest(week, disclose(frozenset(), config.policy.min_group_size, candidates), data_reach(session),
                       has_data)


def days_with_usage_any(session: Session, week: Week) -> bool:
    u = table(Usage).c
    return session.execute(select(u.id).where(u.day >= week.monday, u.day < week.end).limit(1)).first() is not None


def admin_lines(admin: AdminDigest) -> list[str]:
    """What the admin acts on, one line each; lines that would say zero are left out."""
    lines = [] if admin.has_data else [NO_DATA[0].upper() + NO_DATA[1:] + "."]
    spend, unmapped = admin.value("unattributed_spend_usd") or 0.0, admin.value("unmapped_identities") or 0.0
    if spend > 0.005:
        them = "it" if unmapped == 1 else "them"
        lines.append(f"Unattributed AI spend: {money(spend)} on {plural(unmapped, 'identity', 'identities')} nobody "
                     f"claims. Map {them} with aliases in the config; `tokenworth identities --unmapped` lists {them}.")
    billed = [f for f in admin.sheet.parts("billed") if f.value]
    if billed:
        text = ", ".join(f"{f.key.split(':', 1)[1]} {money(f.value)}" for f in billed)
        lines.append(f"Billed by vendors this week: {text}. `tokenworth reconcile` sets the bills against list-price "
                     "spend.")
    if not lines:
        lines.append("Nothing needs you this week: every dollar of spend is attributed to someone.")
    return lines


def reach_line(admin: AdminDigest) -> str:
    if not admin.reach:
        return "No feed holds any data yet."
    reach = sorted((feed_name(feed), day) for feed, day in admin.reach.items())
    return "Data through: " + ", ".join(f"{name} {day:%Y-%m-%d}" for name, day in reach) + "."


def admin_text(admin: AdminDigest) -> str:
    title = f"{TITLE} · week {admin.week}"
    return "\n".join([title, "=" * len(title), *(f"- {line}" for line in admin_lines(admin)), "",
                      reach_line(admin)])
