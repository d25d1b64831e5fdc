"""The template families: writing styles, each written once and phrased from the language's lexicon.

A family is a style in one language (``es_prose``, ``en_prose``...). The style functions below assemble a
report from sentence and field builders that read all their wording from ``lexicon_es`` / ``lexicon_en``, so
the code is shared and the phrasing is per language.

The split of each style is fixed here, not drawn from the seed, so a held-out style stays held out whatever
the seed; the same style is held out in both languages, otherwise the model would learn it from the other
language and the test split would not measure unseen phrasings:

- train: prose, bullets, email, chat, fields, runon (typos, no accents), caps, rambling, markdown
- val:   table ("key | value" lines), changelog (ticket-system log)
- test:  standup (Q&A), voice (dictation transcript), reordered (blockers and budget first, project last)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reportx.synth import surface
from reportx.synth.noise import lower_template, strip_accents, tidy, typo_template, voice_template
from reportx.synth.records import LEXICONS, BlockerFact, Record

STYLE_SPLITS: dict[str, str] = {
    "prose": "train", "bullets": "train", "email": "train", "chat": "train", "fields": "train", "runon": "train",
    "caps": "train", "rambling": "train", "markdown": "train",
    "table": "val", "changelog": "val",
    "standup": "test", "voice": "test", "reordered": "test",
}
LANGS: tuple[str, ...] = ("es", "en")

_MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
_FIRST_NAMES = {
    "es": ("Pablo", "Nuria", "Marta", "Iván", "Lucía", "Sergio", "Elena"),
    "en": ("Tom", "Hannah", "Priya", "Ben", "Chloe", "Oliver", "Emily"),
}


@dataclass(frozen=True)
class Family:
    """A template family: a style in one language, with its fixed split."""

    name: str
    lang: str
    style: str
    split: str


FAMILIES: tuple[Family, ...] = tuple(
    Family(f"{lang}_{style}", lang, style, split) for lang in LANGS for style, split in STYLE_SPLITS.items()
)


def _budget_amount(value: float | None, what: str, mode: str) -> float:
    # Each budget mode names the amounts a record generated with it carries (see ``records.make_record``).
    if value is None:
        raise ValueError(f"budget mode {mode!r} writes the {what} amount, but the record has none")
    return value


# List markers of rich reports: one string for every item, or a numbering (three blockers at most).
_BULLETS: tuple[str | tuple[str, ...], ...] = ("-", "·", "*", "•", ("1.", "2.", "3."), ("a)", "b)", "c)"))


class Ctx:
    """What a style needs while writing one report: the record, the language's lexicon, the random source
    and the template mode ("plain", "typo", "voice")."""

    def __init__(self, rng: random.Random, rec: Record, mode: str = "plain", lower: bool = False):
        self.used: set[str] = set()  # templates already used in this report, so two sentences do not read alike
        self.rng = rng
        self.rec = rec
        self.lang = rec.lang
        self.lex = LEXICONS[rec.lang]
        self.L = self.lex.LEXICON
        self.mode = mode
        self.lower = lower
        self.voice = mode == "voice"
        self._bullets: str | tuple[str, ...] = "-"
        self.report_date = self.date()  # the report's own date (titles, subjects, "Fecha:"), one per report

    # randomness and templates -------------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.rng.random() < p

    def choice(self, seq):
        """One element of ``seq``."""
        return self.rng.choice(seq)

    def tpl(self, template: str) -> str:
        """The template as this report writes it (typos, dictation, lower case), values untouched."""
        if self.mode == "typo":
            template = typo_template(template, self.rng, self.lang)
        elif self.mode == "voice":
            return voice_template(template)
        return lower_template(template) if self.lower else template

    def cap(self, text: str) -> str:
        """Capitalise a value that starts a sentence, unless this report does not capitalise (run-on, dictation)."""
        return text if (self.voice or self.lower) else surface.cap(text)

    def fill(self, key: str | list, ticket: str | None = None, **values) -> str:
        """Pick a template (a lexicon key or a list) and fill it; the ticket surface fits where {t} sits."""
        options = self.L[key] if isinstance(key, str) else key
        if isinstance(key, str) and self.rec.rich and key + "_rich" in self.L:
            options = options + self.L[key + "_rich"]
        fresh = [o for o in options if o not in self.used]
        template = self.choice(fresh or options)
        self.used.add(template)
        if ticket is not None:
            t = self.ticket(ticket, surface.ticket_context(template))
            values.update(t=t, T=self.cap(t))
        if "{p}" in template:
            bare = "[{p}]" in template or self.voice  # no quotes inside brackets or in a transcript
            values["p"] = self.rec.project if bare else surface.render_project(self.rng, self.rec.project)
        return self.tpl(template).format(**values)

    def bullet(self, n: int) -> str:
        """The marker of list item ``n`` (from 0): "-", or in a rich report one of the markers people type, the
        same marker style for every item of the list (drawn at the first)."""
        if not self.rec.rich:
            return "-"
        if n == 0:
            self._bullets = self.choice(_BULLETS)
        return self._bullets[n] if isinstance(self._bullets, tuple) else self._bullets

    def label(self, key: str) -> str:
        """A field label ("Cliente", "Budget used") as this report writes it."""
        return self.word("labels", key)

    def word(self, group: str, key: str) -> str:
        """A styled word from a nested lexicon group (chat, standup, changelog, markdown)."""
        return self.tpl(self.choice(self.L[group][key]))

    # values -----------------------------------------------------------------------------------------------------
    def money(self, amount: float) -> str:
        """An amount in one of the money formats."""
        return surface.render_money(self.rng, amount, self.lang, self.voice)

    @property
    def spent(self) -> float:
        """The amount spent, for a budget mode that writes it."""
        return _budget_amount(self.rec.spent, "spent", self.rec.budget_mode)

    @property
    def total(self) -> float:
        """The total budget, for a budget mode that writes it."""
        return _budget_amount(self.rec.total, "total", self.rec.budget_mode)

    @property
    def remaining(self) -> float:
        """The budget remaining, for a budget mode that writes it."""
        return _budget_amount(self.rec.remaining, "remaining", self.rec.budget_mode)

    def pair(self) -> str:
        """The amount spent of the total, in one phrase."""
        return surface.render_money_pair(self.rng, self.spent, self.total, self.lang, self.voice)

    def dur(self, hours: float) -> str:
        """A delay in one of the duration forms."""
        return surface.render_duration(self.rng, hours, self.lang, self.voice, self.rec.rich)

    def ticket(self, ticket_id: str, where: str = "plain") -> str:
        """A ticket reference that fits ``where`` (see ``surface.ticket_context``)."""
        return surface.render_ticket(self.rng, ticket_id, self.lang, "voice" if self.voice else where)

    def date(self) -> str:
        """A calendar date as the language writes it ("12/03", "14 de marzo", "March 3rd")."""
        d, m = self.rng.randint(1, 28), self.rng.randint(1, 12)
        if self.lang == "es":
            forms = [f"{d:02d}/{m:02d}", f"{d} de {_MONTHS['es'][m - 1]}", f"{d:02d}/{m:02d}/2025"]
        else:
            suffix = "st" if d in (1, 21) else "nd" if d in (2, 22) else "rd" if d in (3, 23) else "th"
            forms = [f"{_MONTHS['en'][m - 1]} {d}{suffix}", f"{d} {_MONTHS['en'][m - 1]}", f"{m}/{d}"]
        return self.choice(forms)

    def numbers(self) -> dict:
        """Distractor numbers for "extra" and "filler" sentences."""
        a, b, c = self.rng.randint(1, 6), self.rng.randint(0, 12), self.rng.randint(0, 9)
        return {
            "pct": self.rng.randint(10, 95), "date": self.date(), "ver": self.choice([f"v{a}.{b}.{c}", f"{a}.{b}.{c}"]),
            "rel": f"{a}.{b}", "n": self.rng.randint(3, 14), "h": self.rng.randint(2, 7),
            "time": f"{self.rng.randint(8, 18)}:{self.choice(['00', '15', '30', '45'])}",
            "name": self.choice(_FIRST_NAMES[self.lang]),
        }

    def milestone_values(self, phrase) -> dict:
        """Template values for a phrase, with Spanish agreement ({o}: terminado/terminada) and is/are."""
        plural, feminine = phrase.plural, phrase.feminine
        if self.lang == "es":
            verbs = {"esta": "están", "ha": "han", "quedo": "quedaron", "va": "van"} if plural else \
                {"esta": "está", "ha": "ha", "quedo": "quedó", "va": "va"}
            o = ("a" if feminine else "o") + ("s" if plural else "")
        else:
            verbs = dict.fromkeys(("esta", "va"), "are" if plural else "is") | {"ha": "", "quedo": ""}
            o = ""
        return {"np": phrase.text, "Np": self.cap(phrase.text), "bare": phrase.bare, "o": o, "adj": phrase.adj,
                "Adj": self.cap(phrase.adj), **verbs}

    def status(self) -> tuple[str, str]:
        """A wording of the record's status and the kind of sentence it fits."""
        if self.rec.status is None:
            raise ValueError("the record states no status to write")
        word, kind = surface.render_status(self.rng, self.rec.status, self.lang)
        return (word.lower() if self.voice else word), kind


# Sentences (prose-like styles) ----------------------------------------------------------------------------------

def blocker_text(ctx: Ctx, b: BlockerFact, item: bool = False) -> str:
    """One blocker as a sentence ("Hubo un pequeño bug (ID: 9812) que retrasó el testing 2 horas") or, with
    ``item``, as a list item ("#9812 (2 horas de retraso)"); the template family depends on what is known."""
    kind = ("t" if b.ticket else "") + ("d" if b.hours is not None else "") or "none"
    values = {"cause": b.cause, "Cause": ctx.cap(b.cause), "act": b.act, "Act": ctx.cap(b.act)}
    if b.hours is not None:
        values["d"] = ctx.dur(b.hours)
    return ctx.fill(("blk_item_" if item else "blk_") + kind, ticket=b.ticket, **values)


def facts(ctx: Ctx, greeted: bool = False) -> dict[str, list[str]]:
    """Every fact of the record as sentences, grouped by slot; each slot may be empty. ``greeted``: the
    report already greets (an email), so the opening sentence does not."""
    rec, f = ctx.rec, {}
    f["open"] = [ctx.fill(ctx.L["open"] + ([] if greeted else ctx.L["open_greeting"]))]
    if rec.milestone:
        key = "ms_ready" if rec.milestone.kind == "ready" else "ms_noun"
        f["milestone"] = [ctx.fill(key, **ctx.milestone_values(rec.milestone))]
    else:
        f["milestone"] = [ctx.fill("ms_none")] if ctx.chance(0.3) else []
    f["progress"] = []
    if rec.progress:
        v = ctx.milestone_values(rec.progress)
        f["progress"] = [ctx.fill("progress", np2=v["np"], Np2=v["Np"], va=v["va"], pct=ctx.rng.randint(20, 90))]
    if not rec.blockers:
        f["blockers"] = [ctx.fill("no_blockers")] if ctx.chance(0.55) else []
    elif len(rec.blockers) > 1 and not ctx.voice and ctx.chance(0.2):
        items = "; ".join(blocker_text(ctx, b, item=True) for b in rec.blockers)
        f["blockers"] = [f"{ctx.label('blockers')}: {items}."]
    else:
        f["blockers"] = [blocker_text(ctx, b) for b in rec.blockers]
    f["closed"] = [ctx.fill("closed", ticket=t) for t in rec.closed_tickets]
    if rec.client:
        f["client"] = [ctx.fill("client", c=rec.client, time=ctx.numbers()["time"])]
    else:
        f["client"] = [ctx.fill("client_anon")] if ctx.chance(0.3) else []
    f["budget"] = budget_sentences(ctx)
    f["status"] = []
    if rec.status:
        word, kind = ctx.status()
        if kind == "state" and not word.isupper():
            word = word.lower()  # "El proyecto está en riesgo": a capital only after a label
        f["status"] = [ctx.fill("status_" + kind, w=word, W=surface.cap(word))]
    f["next"] = []
    if rec.next_step:
        options = ctx.L["next_any"] + ctx.L["next_noun" if rec.next_step.kind == "noun" else "next_verb"]
        f["next"] = [ctx.fill(options, ns=rec.next_step.text, ns_bare=rec.next_step.bare)]
    f["extra"] = extras(ctx, ctx.choice([0, 0, 1, 1, 2, 3]))
    return f


def budget_sentences(ctx: Ctx) -> list[str]:
    """The budget as sentences, following the record's ``budget_mode`` (spent, spent of total, distractors)."""
    rec, mode = ctx.rec, ctx.rec.budget_mode
    if mode == "spent":
        return [ctx.fill("budget_spent", m=ctx.money(ctx.spent))]
    if mode == "pair":
        return [ctx.fill("budget_pair", mt=ctx.pair())]
    if mode == "pair_split":
        return [ctx.fill("budget_pair_split", m=ctx.money(ctx.spent), tot=ctx.money(ctx.total))]
    if mode == "spent_pct":
        return [ctx.fill("budget_spent_pct", m=ctx.money(ctx.spent), pct=rec.pct)]
    if mode == "spent_total":
        return [ctx.fill("budget_spent", m=ctx.money(ctx.spent)), ctx.fill("budget_total", tot=ctx.money(ctx.total))]
    if mode == "total":
        return [ctx.fill("budget_total", tot=ctx.money(ctx.total))]
    if mode == "remaining":
        return [ctx.fill("budget_remaining", rem=ctx.money(ctx.remaining))]
    if mode == "pct":
        return [ctx.fill("budget_pct", pct=rec.pct)]
    return []


def extras(ctx: Ctx, k: int) -> list[str]:
    """``k`` distractor sentences of different kinds (one percentage, one headcount...), so none contradicts another."""
    kinds = ctx.rng.sample(sorted(ctx.L["extra"]), k)
    return [ctx.fill(ctx.L["extra"][kind], **ctx.numbers()) for kind in kinds]


def fillers(ctx: Ctx, k: int) -> list[str]:
    """``k`` different sentences of irrelevant context (weather, team news, meetings)."""
    return [ctx.fill("filler", **ctx.numbers()) for _ in range(k)]


BODY_ORDER = ("milestone", "progress", "blockers", "closed", "client", "next", "budget", "status", "extra")


def body(ctx: Ctx, f: dict[str, list[str]], order=BODY_ORDER, shuffle: float = 0.5) -> list[str]:
    """The body sentences in the brief's order, or shuffled; the status often closes the report."""
    order = list(order)
    if ctx.chance(shuffle):
        ctx.rng.shuffle(order)
    if "status" in order and ctx.chance(0.5):
        order.remove("status")
        order.append("status")
    return [s for slot in order for s in f[slot]]


def paragraphs(ctx: Ctx, sentences: list[str], p_split: float = 0.35) -> str:
    """Sentences joined into one paragraph or, with probability ``p_split``, two."""
    if len(sentences) > 3 and ctx.chance(p_split):
        cut = ctx.rng.randint(1, len(sentences) - 2)
        sep = ctx.choice(["\n\n", "\n"])
        return " ".join(sentences[:cut]) + sep + " ".join(sentences[cut:])
    return " ".join(sentences)


# Fields (list-like styles) ------------------------------------------------------------------------------------

def fields(ctx: Ctx, show_null: float = 0.25) -> dict[str, Any]:
    """Every fact as (label, value) entries. Null fields are left out or shown as "-"/"n/d".

    Entries differ by slot: (label, value), or None when left out; (label, [items]) for blockers and closed;
    [(label, value), ...] for budget and extras; the bare "none" wording for blockers_none."""
    rec = ctx.rec
    F: dict[str, Any] = {}

    def null(key: str, none_key: str = "null_value"):
        return (ctx.label(key), ctx.tpl(ctx.choice(ctx.L[none_key]))) if ctx.chance(show_null) else None

    F["project"] = (ctx.label("project"), rec.project)
    F["client"] = (ctx.label("client"), rec.client) if rec.client else null("client")
    F["status"] = (ctx.label("status"), ctx.status()[0]) if rec.status else null("status")
    F["budget"] = budget_fields(ctx)
    if rec.milestone:
        m = rec.milestone
        value = m.gold if m.kind == "ready" else m.bare
        F["milestone"] = (ctx.label("milestone"), surface.cap(value) if ctx.chance(0.5) else value)
    else:
        F["milestone"] = null("milestone", "none_milestone")
    F["progress"] = None
    if rec.progress:
        value = ctx.tpl(ctx.choice(ctx.L["progress_value"])).format(bare=rec.progress.bare, pct=ctx.rng.randint(20, 90))
        F["progress"] = (ctx.label("progress"), value)
    F["blockers"] = (ctx.label("blockers"), [blocker_text(ctx, b, item=True) for b in rec.blockers])
    F["blockers_none"] = ctx.tpl(ctx.choice(ctx.L["none_blockers"]))
    F["closed"] = (ctx.label("closed"), [ctx.fill("closed_item", ticket=t) for t in rec.closed_tickets])
    if rec.next_step:
        value = rec.next_step.bare
        F["next"] = (ctx.label("next"), surface.cap(value) if ctx.chance(0.5) else value)
    else:
        F["next"] = null("next", "next_tbd")
    nums = ctx.numbers()
    extra = [(ctx.label("date"), ctx.report_date), (ctx.label("team"), ctx.tpl(ctx.L["team_value"][0]).format(n=nums["n"])),
             (ctx.label("version"), nums["ver"])]
    F["extras"] = ctx.rng.sample(extra, ctx.choice([0, 1, 1, 2]))
    return F


def budget_fields(ctx: Ctx, group: str = "labels") -> list[tuple[str, str]]:
    """The budget as (label, value) entries, following the record's ``budget_mode``; ``group`` is the
    lexicon group the labels come from ("labels", or "chat" for abbreviations)."""
    rec, mode = ctx.rec, ctx.rec.budget_mode

    def label(key: str) -> str:
        return ctx.word(group, key)

    if mode == "spent":
        return [(label("spent"), ctx.money(ctx.spent))]
    if mode in ("pair", "pair_split"):
        return [(label("pair"), ctx.pair())]
    if mode == "spent_pct":
        return [(label("spent"), f"{ctx.money(ctx.spent)} ({rec.pct}%)")]
    if mode == "spent_total":
        return [(label("spent"), ctx.money(ctx.spent)), (label("total"), ctx.money(ctx.total))]
    if mode == "total":
        return [(label("total"), ctx.money(ctx.total))]
    if mode == "remaining":
        return [(label("remaining"), ctx.money(ctx.remaining))]
    if mode == "pct":
        return [(label("pct"), ctx.tpl(ctx.choice(ctx.L["pct_value"])).format(pct=rec.pct))]
    return []


FIELD_ORDER = ("project", "client", "status", "budget", "milestone", "progress", "blockers", "closed", "next", "extras")


def field_lines(ctx: Ctx, F: dict, order=None) -> list[tuple[str, str]]:
    """Flatten the fields to (label, value) lines; several blockers join with "; "."""
    order = order or FIELD_ORDER
    lines = []
    for slot in order:
        if slot in ("budget", "extras"):
            lines += F[slot]
        elif slot in ("blockers", "closed"):
            label, items = F[slot]
            if items:
                lines.append((label, "; ".join(items)))
            elif slot == "blockers" and ctx.chance(0.6):
                lines.append((label, F["blockers_none"]))
        elif F[slot]:
            lines.append(F[slot])
    return lines


# Styles -----------------------------------------------------------------------------------------------------

def style_prose(ctx: Ctx) -> str:
    """The brief's own style: sentences, opening with the project."""
    f = facts(ctx)
    sentences = f["open"] + body(ctx, f)
    if ctx.chance(0.3):
        sentences.append(ctx.fill("closing"))
    return paragraphs(ctx, sentences)


def style_bullets(ctx: Ctx) -> str:
    """A header line, then one bullet per fact: a short sentence or a "Label: value"."""
    f, F = facts(ctx), fields(ctx, show_null=0.0)
    bullet = ctx.choice(["- ", "* ", "• ", "– "])
    head = f["open"][0] if ctx.chance(0.6) else f"{F['project'][0]}: {F['project'][1]}"
    lines = [head]
    for slot in BODY_ORDER:
        field = F.get(slot) if slot in ("milestone", "client", "next", "status") else None
        if field and ctx.chance(0.5):
            lines.append(f"{bullet}{field[0]}: {field[1]}")
        else:
            lines += [bullet + s for s in f[slot]]
    return "\n".join(lines)


def style_email(ctx: Ctx) -> str:
    """An email: subject, greeting, paragraphs, sign-off and a signature with the sender's name and role."""
    rec = ctx.rec
    f = facts(ctx, greeted=True)
    parts = []
    has_subject = ctx.chance(0.6)
    if has_subject:
        parts.append(ctx.fill("subject", date=ctx.report_date))
    parts.append(ctx.fill("greeting", name=rec.recipient))
    intro = ctx.tpl(ctx.choice(ctx.L["email_intro"]))
    sentences = ([intro] if intro else []) + (f["open"] if (not has_subject or ctx.chance(0.5)) else []) + body(ctx, f)
    parts.append(paragraphs(ctx, sentences, 0.6))
    if ctx.chance(0.5):
        parts.append(ctx.fill("closing"))
    name, gender = rec.sender
    role = ctx.choice(ctx.L["roles"][gender])
    signature = ctx.choice([f"{name}\n{role}", f"{name} – {role}", f"{name} ({role})", f"{name}\n{role} | PMO"])
    parts.append(ctx.fill("signoff") + "\n" + signature)
    return "\n\n".join(parts)


def style_chat(ctx: Ctx) -> str:
    """A terse chat message: one or two lines of abbreviated fragments."""
    rec, F = ctx.rec, fields(ctx, show_null=0.0)
    pieces = []
    if rec.milestone:
        pieces.append(f"{ctx.word('chat', 'done')} {F['milestone'][1]}")
    items = F["blockers"][1]
    if items:
        pieces.append(f"{ctx.word('chat', 'blockers')} " + ", ".join(items))
    elif ctx.chance(0.6):
        pieces.append(ctx.word("chat", "no_blockers"))
    pieces += [ctx.fill("closed_item", ticket=t) for t in rec.closed_tickets]
    pieces += [f"{label} {value}" for label, value in budget_fields(ctx, "chat")]
    if rec.status:
        word = ctx.status()[0]
        pieces.append(f"{ctx.word('chat', 'status')} {word}" if ctx.chance(0.6) else word)
    if rec.client:
        pieces.append(f"{ctx.word('chat', 'client')} {rec.client}")
    if rec.next_step:
        pieces.append(f"{ctx.word('chat', 'next')} {rec.next_step.bare}")
    ctx.rng.shuffle(pieces)
    sep = ctx.choice([" | ", ", ", " · ", " / ", "; "])
    head = ctx.choice([f"{rec.project}:", f"[{rec.project}]", f"{rec.project} →", f"re {rec.project}:"])
    if len(pieces) > 3 and ctx.chance(0.4):
        cut = ctx.rng.randint(2, len(pieces) - 1)
        return f"{head} {sep.join(pieces[:cut])}\n{sep.join(pieces[cut:])}"
    return f"{head} {sep.join(pieces)}"


def style_fields(ctx: Ctx) -> str:
    """Headed fields, one per line ("Estado: Verde", "Cliente: ACME Corp")."""
    F = fields(ctx)
    order = list(FIELD_ORDER)
    if ctx.chance(0.4):
        rest = order[1:]
        ctx.rng.shuffle(rest)
        order = order[:1] + rest
    lines = []
    for label, value in field_lines(ctx, F, order):
        if value and ";" in value and label == F["blockers"][0] and ctx.chance(0.5):
            lines.append(f"{label}:")
            lines += [f"  {ctx.bullet(n)} {item}" for n, item in enumerate(F["blockers"][1])]
        else:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def style_runon(ctx: Ctx) -> str:
    """One run-on paragraph: lower case, typos in the template words, weak punctuation (no accents: see render)."""
    f = facts(ctx)
    client = ctx.rec.client or "\0"
    # Drop each sentence's full stop, but not one that ends a name ("S.A.", "Inc.").
    sentences = [s[:-1] if s.endswith(".") and not s.endswith(client) else s for s in f["open"] + body(ctx, f)]
    out = sentences[0]
    for s in sentences[1:]:
        out += ctx.choice(ctx.L["runon_join"]) + s
    return out + ctx.choice(["", ".", "..", " "])


def style_caps(ctx: Ctx) -> str:
    """ALL CAPS (upper-cased at render, with the gold names): written as prose, bullets or fields."""
    return ctx.choice([style_prose, style_bullets, style_fields])(ctx)


def style_reordered(ctx: Ctx) -> str:
    """Blockers and budget first, the project named last."""
    f = facts(ctx)
    if not f["blockers"]:
        f["blockers"] = [ctx.fill("no_blockers")]
    head = ["blockers", "budget"] if ctx.chance(0.5) else ["budget", "blockers"]
    rest = ["status", "closed", "milestone", "client", "next", "progress", "extra"]
    ctx.rng.shuffle(rest)
    sentences = [s for slot in head + rest for s in f[slot]] + [ctx.fill("close_project")]
    return paragraphs(ctx, sentences, 0.3)


def style_rambling(ctx: Ctx) -> str:
    """A long report with several sentences of irrelevant context between the facts."""
    f = facts(ctx)
    facts_list = body(ctx, f, shuffle=0.3)
    noise = fillers(ctx, ctx.rng.randint(3, 6))
    merged = []
    while facts_list or noise:
        if noise and (not facts_list or ctx.chance(0.45)):
            merged.append(noise.pop())
        else:
            merged.append(facts_list.pop(0))
    return paragraphs(ctx, f["open"] + merged, 0.7)


def style_markdown(ctx: Ctx) -> str:
    """Markdown with a title, a data list and sections for done work, blockers and next steps."""
    F = fields(ctx)
    lines = [ctx.fill(ctx.L["markdown"]["title"], date=ctx.report_date), ""]
    bold = ctx.chance(0.5)
    for label, value in field_lines(ctx, F, ["client", "status", "budget", "progress", "extras"]):
        lines.append(f"- **{label}:** {value}" if bold else f"- {label}: {value}")
    lines.append("")
    if F["milestone"]:
        lines += [ctx.word("markdown", "done"), f"- {F['milestone'][1]}", ""]
    lines.append(ctx.word("markdown", "blockers"))
    if F["blockers"][1]:
        lines += [f"{ctx.bullet(n)} {i}" for n, i in enumerate(F["blockers"][1])]
    else:
        lines.append(f"- {F['blockers_none']}" if F["blockers_none"] != "-" else ctx.tpl(ctx.choice(ctx.L["no_blockers"])))
    if F["closed"][1]:
        lines.append(f"- {F['closed'][0]}: " + ", ".join(F["closed"][1]))
    lines.append("")
    if F["next"]:
        lines += [ctx.word("markdown", "next"), f"- {F['next'][1]}"]
    return "\n".join(lines)


def style_table(ctx: Ctx) -> str:
    """"Key | value" rows, with or without a header row and outer pipes."""
    F = fields(ctx)
    rows = field_lines(ctx, F)
    outer = ctx.chance(0.4)
    fmt = (lambda a, b: f"| {a} | {b} |") if outer else (lambda a, b: f"{a} | {b}")
    lines = []
    if ctx.chance(0.6):
        a, b = ctx.tpl(ctx.choice(ctx.L["table_header"])).split(" | ")
        lines += [fmt(a, b), fmt("---", "---")]
    lines += [fmt(label, value) for label, value in rows]
    return "\n".join(lines)


def style_standup(ctx: Ctx) -> str:
    """Stand-up Q&A: what was done, what is next, blockers; then the other facts."""
    f = facts(ctx)
    S = ctx.L["standup"]
    inline = ctx.chance(0.5)

    def qa(key: str, answer: list[str], none_key: str) -> str:
        text = " ".join(answer) if answer else ctx.tpl(ctx.choice(S[none_key]))
        return f"{ctx.tpl(ctx.choice(S[key]))}{' ' if inline else chr(10)}{text}"

    blocks = [
        qa("done", f["milestone"] + f["progress"], "nothing_done"),
        qa("next", f["next"], "nothing_next"),
        qa("blockers", f["blockers"] + f["closed"], "none"),
    ]
    if ctx.chance(0.3):
        ctx.rng.shuffle(blocks)
    other = f["client"] + f["budget"] + f["status"] + f["extra"]
    ctx.rng.shuffle(other)
    title = ctx.fill(S["title"], date=ctx.report_date)
    tail = [ctx.tpl(ctx.choice(S["other"])) + " " + " ".join(other)] if other else []
    return "\n".join([title] + blocks + tail)


def style_changelog(ctx: Ctx) -> str:
    """A ticket-system log: tagged lines for done, blockers, closed tickets, next, and key=value facts."""
    rec, F, C = ctx.rec, fields(ctx, show_null=0.0), ctx.L["changelog"]
    lines = [ctx.fill(C["title"], date=ctx.report_date)]
    if F["milestone"]:
        lines.append(f"{ctx.tpl(ctx.choice(C['done']))} {F['milestone'][1]}")
    lines += [f"{ctx.tpl(ctx.choice(C['blocker']))} {item}" for item in F["blockers"][1]]
    lines += [f"{ctx.tpl(ctx.choice(C['closed']))} {item}" for item in F["closed"][1]]
    if F["next"]:
        lines.append(f"{ctx.tpl(ctx.choice(C['next']))} {F['next'][1]}")
    kv = []
    if rec.status:
        kv.append(f"{C['kv_status']}={F['status'][1]}")
    if rec.client:
        kv.append(f"{C['kv_client']}={rec.client}")
    kv += [f"{label.lower()}={value}" for label, value in F["budget"]]
    ctx.rng.shuffle(kv)
    if kv:
        lines.append(ctx.choice(["; ", " | ", ", "]).join(kv))
    return "\n".join(lines)


def style_voice(ctx: Ctx) -> str:
    """A raw dictation transcript: lower case, spoken punctuation, fillers, no symbols."""
    f = facts(ctx)
    V = ctx.L["voice"]
    sentences = f["open"] + body(ctx, f)
    out = [ctx.choice(V["intro"])]
    for s in sentences:
        out.append(s.strip())
        if ctx.chance(0.35):
            out.append(ctx.choice(V["fillers"]))
        out.append(ctx.choice(V["stops"]).strip())
    out.append(ctx.choice(V["outro"]))
    return " ".join(w for w in out if w)


STYLES: dict[str, Callable[[Ctx], str]] = {
    "prose": style_prose, "bullets": style_bullets, "email": style_email, "chat": style_chat, "fields": style_fields,
    "runon": style_runon, "caps": style_caps, "rambling": style_rambling, "markdown": style_markdown,
    "table": style_table, "changelog": style_changelog, "standup": style_standup, "voice": style_voice,
    "reordered": style_reordered,
}


def render(rng: random.Random, family: Family, rec: Record) -> tuple[str, dict]:
    """Write one report of ``family`` for ``rec``: (text, gold record before validation)."""
    if family.style == "runon":
        ctx = Ctx(rng, rec, mode="typo", lower=rng.random() < 0.6)
    elif family.style == "voice":
        ctx = Ctx(rng, rec, mode="voice")
    elif family.style == "chat":
        ctx = Ctx(rng, rec, lower=rng.random() < 0.5)
    else:
        ctx = Ctx(rng, rec)
    text = tidy(STYLES[family.style](ctx))
    project, client = rec.project, rec.client
    if family.style == "caps":
        text = text.upper()
        project, client = project.upper(), client.upper() if client else None
    elif family.style == "runon":
        keep_enye = rng.random() < 0.5
        text = strip_accents(text, keep_enye)
        project = strip_accents(project, keep_enye)
        client = strip_accents(client, keep_enye) if client else None
    return text, rec.gold(project=project, client=client)
