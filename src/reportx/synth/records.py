"""Random structured records: what a report says, before any wording is chosen.

A ``Record`` holds the gold values plus what the text needs to say them (articles and agreement of Spanish
phrases, blocker causes) and the distractors (closed tickets, a total budget, work in progress). Each nullable
field is null in about 22% of records, and about 40% of records have no blockers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from types import ModuleType

from reportx.synth import lexicon_en, lexicon_es, vocab
from reportx.synth.surface import cap, draw_hours, render_ticket

LEXICONS: dict[str, ModuleType] = {"es": lexicon_es, "en": lexicon_en}

NULL_RATE = 0.22
BLOCKER_COUNT_WEIGHTS = (0.40, 0.34, 0.18, 0.08)  # 0, 1, 2, 3 blockers
# A rich record (training only, see ``generate.synthesize``) has more blockers and more of them without a ticket,
# as reports people write do: several problems a day, most of them never ticketed.
RICH_BLOCKER_COUNT_WEIGHTS = (0.30, 0.30, 0.26, 0.14)
TICKETLESS_RATE, RICH_TICKETLESS_RATE = 0.25, 0.45
STATUS_WEIGHTS = {"Verde": 0.45, "Amarillo": 0.30, "Rojo": 0.25}
_ARTICLES = {"el": (False, False), "la": (True, False), "los": (False, True), "las": (True, True), "the": (False, False)}


@dataclass(frozen=True)
class Phrase:
    """A milestone or next-step phrase in the report's language.

    ``text`` is how it reads mid-sentence ("el despliegue del módulo de pagos"), ``bare`` without its article,
    ``gold`` the field value ("Despliegue del módulo de pagos"). ``kind`` is "noun", "ready" (subject + ``adj``:
    "el módulo de login" + "listo") or "verb" ("resolver JIRA-900").
    """

    text: str
    bare: str
    gold: str
    kind: str = "noun"
    feminine: bool = False
    plural: bool = False
    adj: str = ""


@dataclass(frozen=True)
class BlockerFact:
    """One blocker: its gold values and the cause and delayed activity the text describes."""

    ticket: str | None
    hours: float | None
    cause: str
    act: str


@dataclass(frozen=True)
class Record:
    """Everything one report states. ``budget_mode`` says how the budget is mentioned:
    "spent", "pair" ("4500€ de 5000€"), "pair_split" ("4.500 € de un total de 20.000 €"), "spent_pct",
    "spent_total" (spent and total in separate sentences); when nothing is spent: "none", "total",
    "remaining" or "pct" (distractors only)."""

    lang: str
    domain: str
    project: str
    status: str | None
    client: str | None
    spent: float | None
    total: float | None
    remaining: float | None
    pct: int | None
    budget_mode: str
    milestone: Phrase | None
    progress: Phrase | None
    blockers: tuple[BlockerFact, ...]
    closed_tickets: tuple[str, ...]
    next_step: Phrase | None
    next_ticket: str | None
    sender: tuple[str, str]
    recipient: str
    rich: bool = False  # training only: the report may also use the lexicon's "_rich" wordings and durations

    def gold(self, project: str | None = None, client: str | None = None) -> dict:
        """The gold record; ``project``/``client`` override the names when a family rewrites them (ALL CAPS)."""
        return {
            "project_name": project if project is not None else self.project,
            "status": self.status,
            "client": client if client is not None else self.client,
            "budget_used_eur": self.spent,
            "key_milestone_completed": self.milestone.gold if self.milestone else None,
            "blockers_today": [{"ticket_id": b.ticket, "delay_hours": b.hours} for b in self.blockers],
            "next_step": self.next_step.gold if self.next_step else None,
        }


def noun_phrase(entry: str, lang: str) -> Phrase:
    """A lexicon noun phrase ("la migración de la base de datos", "SSO") as a Phrase."""
    first, _, rest = entry.partition(" ")
    if first in _ARTICLES and rest:
        feminine, plural = _ARTICLES[first]
        if lang == "en":
            plural = entry in lexicon_en.PLURALS
        return Phrase(text=entry, bare=rest, gold=cap(rest), feminine=feminine, plural=plural)
    return Phrase(text=entry, bare=entry, gold=cap(entry))  # no article: "SSO", "end-user training"


def action_phrase(entry: str) -> Phrase:
    """A next step that is an action ("preparar la demo del viernes", "resolver JIRA-900")."""
    return Phrase(text=entry, bare=entry, gold=cap(entry), kind="verb")


def ready_phrase(subject: str, adjective: str, lang: str) -> Phrase:
    """A "ready" milestone: "el módulo de login" + "listo" -> gold "Módulo de login listo"."""
    base = noun_phrase(subject, lang)
    adj = adjective
    if lang == "es" and adjective.endswith("o"):
        adj = adjective[:-1] + ("a" if base.feminine else "o") + ("s" if base.plural else "")
    return Phrase(text=base.text, bare=base.bare, gold=f"{base.gold} {adj}", kind="ready",
                  feminine=base.feminine, plural=base.plural, adj=adj)


def _amount(rng: random.Random, domain: str) -> float:
    lo, hi = vocab.AMOUNT_RANGES[domain]
    raw = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    step = 50 if raw < 10_000 else 100 if raw < 100_000 else 500 if raw < 1_000_000 else 10_000
    amount: float = max(step, round(raw / step) * step)
    if amount < 1_000_000 and rng.random() < 0.15:
        amount += rng.randint(1, 99) / 100  # some reports give cents
    return round(amount, 2)


def _total_for(rng: random.Random, spent: float) -> float:
    raw = spent / rng.uniform(0.25, 0.92)
    step = 1_000 if raw < 100_000 else 5_000 if raw < 1_000_000 else 50_000
    return float(math.ceil(raw / step) * step)


def _ticket_id(rng: random.Random, domain: str, taken: set[str]) -> str:
    while True:
        if rng.random() < 0.5:
            tid = str(rng.randint(100, 99_999))
        else:
            tid = f"{rng.choice(vocab.TICKET_KEYS[domain])}-{rng.randint(1, 9_999)}"
        if tid not in taken:
            taken.add(tid)
            return tid


def _maybe(rng: random.Random, p_null: float = NULL_RATE) -> bool:
    return rng.random() >= p_null


def make_record(rng: random.Random, lang: str, rich: bool = False) -> Record:
    """Draw one random record for a report in ``lang``; ``rich``: a training record with more, and more varied,
    blockers (``Record.rich``)."""
    lex = LEXICONS[lang]
    domain = rng.choices(vocab.DOMAINS, weights=vocab.DOMAIN_WEIGHTS)[0]
    kind = rng.random()
    pool = vocab.PROJECTS_SINGLE if kind < 0.5 else vocab.PROJECTS_MULTI if kind < 0.85 else vocab.PROJECTS_CODE
    project = rng.choice(pool)

    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0] if _maybe(rng) else None
    client = None
    if _maybe(rng):
        local = vocab.CLIENTS_ES if lang == "es" else vocab.CLIENTS_EN
        client = rng.choice(local if rng.random() < 0.7 else vocab.CLIENTS_INTL)

    spent = total = remaining = pct = None
    if _maybe(rng):
        spent = _amount(rng, domain)
        modes = ["spent", "pair", "pair_split", "spent_pct", "spent_total"]
        budget_mode = rng.choices(modes, weights=[40, 32, 10, 10, 8])[0]
        if budget_mode != "spent":
            total = _total_for(rng, spent)
            pct = max(1, round(100 * spent / total))
    else:
        budget_mode = rng.choices(["none", "total", "remaining", "pct"], weights=[40, 25, 15, 20])[0]
        hidden_spent = _amount(rng, domain)  # what the report does not say; only its total/remainder shows
        total = _total_for(rng, hidden_spent)
        remaining = round(total - hidden_spent, 2)
        pct = rng.randint(12, 95)

    milestones = lex.MILESTONES[domain]
    milestone = progress = None
    if _maybe(rng, 0.2):
        if rng.random() < 0.15:
            subject, adjective = rng.choice(lex.READY[domain])
            milestone = ready_phrase(subject, adjective, lang)
        else:
            milestone = noun_phrase(rng.choice(milestones), lang)
    if rng.random() < 0.25:
        others = [m for m in milestones if milestone is None or noun_phrase(m, lang).gold != milestone.gold]
        progress = noun_phrase(rng.choice(others), lang)

    taken: set[str] = set()
    causes = lex.CAUSES[domain] + lex.CAUSES["any"]
    n_blockers = rng.choices(range(4), weights=RICH_BLOCKER_COUNT_WEIGHTS if rich else BLOCKER_COUNT_WEIGHTS)[0]
    chosen_causes = rng.sample(causes, n_blockers)
    blockers = []
    for cause in chosen_causes:
        ticket = _ticket_id(rng, domain, taken) if _maybe(rng, RICH_TICKETLESS_RATE if rich else TICKETLESS_RATE) else None
        hours = draw_hours(rng) if _maybe(rng, 0.2) else None
        cause = cause.replace("{vendor}", rng.choice(vocab.VENDORS))
        blockers.append(BlockerFact(ticket=ticket, hours=hours, cause=cause, act=rng.choice(lex.ACTS[domain])))

    closed = tuple(_ticket_id(rng, domain, taken) for _ in range(rng.choices(range(3), weights=[70, 25, 5])[0]))

    next_step = next_ticket = None
    if _maybe(rng, 0.2):
        if rng.random() < 0.12:
            next_ticket = _ticket_id(rng, domain, taken)
            ref = render_ticket(rng, next_ticket, lang, "article")
            if lang == "es" and ref.startswith(("#", "ticket")):
                ref = "el " + ref  # "resolver el #4521", "cerrar el ticket 4521"; a bare key reads "resolver JIRA-900"
            next_step = action_phrase(rng.choice(lex.NEXT_TICKET).format(t=ref))
        elif rng.random() < 0.2:
            next_step = action_phrase(rng.choice(lex.NEXT_ACTIONS[domain]))
        else:
            next_step = noun_phrase(rng.choice(lex.NEXT_STEPS[domain]), lang)

    people = vocab.PEOPLE_ES if lang == "es" else vocab.PEOPLE_EN
    sender, other = rng.sample(people, 2)
    return Record(
        lang=lang, domain=domain, project=project, status=status, client=client, spent=spent, total=total,
        remaining=remaining, pct=pct, budget_mode=budget_mode, milestone=milestone, progress=progress,
        blockers=tuple(blockers), closed_tickets=closed, next_step=next_step, next_ticket=next_ticket,
        sender=sender, recipient=other[0].split()[0], rich=rich,
    )
