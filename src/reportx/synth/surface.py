"""Surface renderers: how one value of a record is written in a report.

Every ``*_forms`` function lists all the ways this module may write a value, so the tests can round-trip each
one through the conventions module (``parse_money``, ``parse_hours``, ``parse_ticket_id``, ``parse_status``),
the single definition of what a surface means. The ``render_*`` functions pick one form with the caller's
``random.Random``.
"""

from __future__ import annotations

import random
import re

from reportx.schema.conventions import STATUS_WORDS

# Money -------------------------------------------------------------------------------------------------------

#: A money format: (prefix, number kind, multiplier, currency). Kinds: "plain" (4500 / 4.500 / 12.300,50),
#: "k" (thousands: 4,5k / 4,5 mil), "M" (millions: 1,2 M / 1.2 million).
MoneyFormat = tuple[str, str, str, str]

MONEY_FORMATS: dict[str, tuple[MoneyFormat, ...]] = {
    "es": (
        ("", "plain", "", "€"), ("", "plain", "", " €"), ("", "plain", "", " EUR"), ("", "plain", "", " euros"),
        ("EUR ", "plain", "", ""), ("€", "plain", "", ""), ("", "k", "k", "€"), ("", "k", "k", " €"),
        ("", "k", "k", " EUR"), ("", "k", " mil", " €"), ("", "k", " mil", " euros"), ("", "M", " M", "€"),
        ("", "M", " millones", " de euros"),
    ),
    "en": (
        ("", "plain", "", "€"), ("", "plain", "", " €"), ("", "plain", "", " EUR"), ("", "plain", "", " euros"),
        ("EUR ", "plain", "", ""), ("€", "plain", "", ""), ("", "k", "k", " EUR"), ("", "k", "k", "€"),
        ("€", "k", "k", ""), ("€", "M", "M", ""), ("EUR ", "M", " million", ""), ("", "M", " million", " euros"),
    ),
}
#: Formats a dictation transcript can produce (spoken currency, no symbols).
VOICE_MONEY_FORMATS: dict[str, tuple[MoneyFormat, ...]] = {
    "es": (("", "plain", "", " euros"), ("", "k", " mil", " euros"), ("", "M", " millones", " de euros")),
    "en": (("", "plain", "", " euros"), ("", "M", " million", " euros")),
}


def _cents(amount: float) -> tuple[int, int]:
    return divmod(round(amount * 100), 100)


def format_number(amount: float, style: str, group: bool) -> str:
    """Write an amount with Spanish ("4.500,50") or English ("4,500.50") marks; cents only when there are any."""
    units, cents = _cents(amount)
    text = f"{units:,}" if group else str(units)
    if style == "es":
        text = text.replace(",", ".")
    if cents:
        text += ("," if style == "es" else ".") + f"{cents:02d}"
    return text


def _scaled(value: float, style: str) -> str:
    # At most two decimals: "4,5" or "4,25" thousands; three would read as a thousands separator.
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if style == "es" else text


def money_core(amount: float, kind: str, style: str, group: bool) -> str | None:
    """The number part of a money surface, or None when the kind cannot write this amount exactly."""
    units, cents = _cents(amount)
    if kind == "plain":
        return format_number(amount, style, group)
    if kind == "k":
        if cents or units % 10 or not 1000 <= units < 1_000_000:
            return None
        return _scaled(units / 1000, style)
    if kind == "M":
        if cents or units % 10_000 or units < 1_000_000:
            return None
        return _scaled(units / 1_000_000, style)
    raise ValueError(kind)


def _usable_core(amount: float, kind: str, style: str, group: bool) -> str:
    # For a format that _pick_format chose, which only offers formats that can write every amount.
    core = money_core(amount, kind, style, group)
    if core is None:
        raise ValueError(f"money kind {kind!r} cannot write {amount!r}")
    return core


def money_forms(amount: float, lang: str) -> list[str]:
    """Every surface this module may write for an amount in a report of language ``lang``."""
    forms = []
    for pre, kind, mult, cur in MONEY_FORMATS[lang] + VOICE_MONEY_FORMATS[lang]:
        for style in ("es", "en"):
            for group in (False, True):
                core = money_core(amount, kind, style, group)
                if core is not None:
                    forms.append(pre + core + mult + cur)
    return sorted(set(forms))


def _number_style(rng: random.Random, lang: str) -> str:
    # Spanish reports mostly write 4.500,50, English ones 4,500.50; each sometimes uses the other's marks.
    native = "es" if lang == "es" else "en"
    return native if rng.random() < 0.85 else ("en" if native == "es" else "es")


def _pick_format(rng: random.Random, amounts: list[float], lang: str, voice: bool) -> tuple[MoneyFormat, str, bool]:
    formats = (VOICE_MONEY_FORMATS if voice else MONEY_FORMATS)[lang]
    style = lang if voice else _number_style(rng, lang)  # a transcript writes the speaker's own number marks
    group = rng.random() < 0.55
    usable = [f for f in formats if all(money_core(a, f[1], style, group) is not None for a in amounts)]
    # Plain formats always apply; scaled ones get a fair share when they do.
    scaled = [f for f in usable if f[1] != "plain"]
    if scaled and rng.random() < 0.3:
        return rng.choice(scaled), style, group
    return rng.choice([f for f in usable if f[1] == "plain"]), style, group


def render_money(rng: random.Random, amount: float, lang: str, voice: bool = False) -> str:
    """One surface for an amount in euros: "4500€", "4.500 €", "4,5k€", "EUR 12,300", "12.300,50 €"..."""
    (pre, kind, mult, cur), style, group = _pick_format(rng, [amount], lang, voice)
    return pre + _usable_core(amount, kind, style, group) + mult + cur


def render_money_pair(rng: random.Random, spent: float, total: float, lang: str, voice: bool = False) -> str:
    """Spent of total in one phrase: "4500€ de 5000€", "4,500 of 5,000 EUR", "4.500/20.000 €"."""
    (pre, kind, mult, cur), style, group = _pick_format(rng, [spent, total], lang, voice)
    first_core = _usable_core(spent, kind, style, group) + mult
    second = pre + _usable_core(total, kind, style, group) + mult + cur
    # The currency written once at the end ("4,500 of 5,000 EUR", "4.500/5.000 €") or on both amounts
    # ("4500€ de 5000€"); a slash only joins bare numbers.
    bare_first = not pre and rng.random() < 0.45
    first = first_core if bare_first else pre + first_core + cur
    joiners = [" de "] if lang == "es" else [" of ", " out of "]
    if bare_first and not voice:
        joiners.append("/")
    return first + rng.choice(joiners) + second


# Durations ---------------------------------------------------------------------------------------------------

#: Delays drawn for blockers (hours) with their weights: half hours to three working days.
HOUR_WEIGHTS: dict[float, int] = {
    0.25: 1, 0.5: 8, 0.75: 3, 1: 8, 1.5: 7, 2: 12, 2.5: 3, 3: 8, 4: 8, 5: 3, 6: 4, 8: 11, 12: 6, 16: 8, 20: 1, 24: 3,
}
_WORDS = {
    "es": {2: "dos", 3: "tres", 4: "cuatro", 5: "cinco", 6: "seis", 8: "ocho", 10: "diez", 12: "doce"},
    "en": {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 8: "eight", 10: "ten", 12: "twelve"},
}
#: Named durations beyond "N hours": (spoken forms, abbreviated forms) per language and value.
_NAMED: dict[str, dict[float, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "es": {
        0.25: (("15 minutos",), ("15 min",)),
        0.5: (("media hora", "30 minutos"), ("30 min",)),
        0.75: (("45 minutos",), ("45 min",)),
        1: (("una hora", "1 hora"), ("1h", "60 min")),
        1.5: (("hora y media", "una hora y media", "1,5 horas", "90 minutos"), ("1h30", "90 min")),
        2.5: (("dos horas y media", "2,5 horas"), ("2h30",)),
        4: (("medio día", "media jornada"), ()),
        8: (("un día", "una jornada", "1 día", "ocho horas"), ("8h",)),
        12: (("día y medio", "un día y medio", "una jornada y media", "1,5 días"), ()),
        16: (("2 días", "dos días", "2 jornadas", "dos jornadas"), ()),
        20: (("dos días y medio", "2,5 días"), ()),
        24: (("3 días", "tres días", "tres jornadas"), ()),
    },
    "en": {
        0.25: (("15 minutes",), ("15 mins",)),
        0.5: (("half an hour", "30 minutes"), ("30 mins",)),
        0.75: (("45 minutes",), ("45 mins",)),
        1: (("an hour", "one hour", "1 hour"), ("1h", "1 hr")),
        1.5: (("an hour and a half", "1.5 hours", "90 minutes"), ("1h30", "90 mins")),
        2.5: (("2.5 hours",), ("2h30",)),
        4: (("half a day",), ()),
        8: (("a day", "one day", "1 day", "a workday", "eight hours"), ("8h",)),
        12: (("a day and a half", "1.5 days"), ()),
        16: (("2 days", "two days"), ()),
        20: (("2.5 days",), ()),
        24: (("3 days", "three days"), ()),
    },
}


# More ways people say a duration, written only in rich (training) reports; every one reads back through
# ``conventions.parse_hours``.
_RICH_NAMED: dict[str, dict[float, tuple[str, ...]]] = {
    "es": {0.75: ("cuarenta y cinco minutos",), 2: ("un par de horas",), 3: ("tres horitas",),
           8: ("toda la jornada", "la jornada completa", "todo el día", "una jornada entera"),
           16: ("un par de días", "dos jornadas completas")},
    "en": {0.75: ("forty-five minutes", "forty five minutes"), 2: ("a couple of hours",), 4: ("~4 hrs",),
           8: ("all day", "the whole day", "a full day"), 16: ("a couple of days", "two full days")},
}


def duration_forms(hours: float, lang: str, voice: bool = False, rich: bool = False) -> list[str]:
    """Every surface for a delay of ``hours``: "2 horas", "3h", "media hora", "día y medio", "2 days"...

    ``voice`` keeps only what a dictation transcript would show (no "3h", no "45 min"); ``rich`` adds the
    training-only forms ("toda la jornada", "a couple of hours").
    """
    spoken: list[str] = []
    short: list[str] = []
    if float(hours).is_integer() and 2 <= hours <= 12:
        n = int(hours)
        unit = "horas" if lang == "es" else "hours"
        spoken.append(f"{n} {unit}")
        if n in _WORDS[lang]:
            spoken.append(f"{_WORDS[lang][n]} {unit}")
        short += [f"{n}h", f"{n} h"] if lang == "es" else [f"{n}h", f"{n} hrs"]
    named = _NAMED[lang].get(hours)
    if named:
        spoken += [f for f in named[0] if f not in spoken]
        short += [f for f in named[1] if f not in short]
    if rich:
        spoken += [f for f in _RICH_NAMED[lang].get(hours, ()) if not (voice and "~" in f)]
    forms = spoken if voice else spoken + short
    if not forms:
        raise ValueError(f"no surface for {hours} hours")
    return forms


def render_duration(rng: random.Random, hours: float, lang: str, voice: bool = False, rich: bool = False) -> str:
    """One surface for a delay in hours."""
    return rng.choice(duration_forms(hours, lang, voice, rich))


def draw_hours(rng: random.Random) -> float:
    """A delay in hours, from HOUR_WEIGHTS."""
    values = list(HOUR_WEIGHTS)
    return float(rng.choices(values, weights=[HOUR_WEIGHTS[v] for v in values])[0])


# Tickets -----------------------------------------------------------------------------------------------------

def ticket_forms(ticket_id: str, lang: str, where: str = "plain") -> list[str]:
    """Surfaces for a ticket id. ``where``: "paren" (inside parentheses: "(ID: 9812)"), "article" (after
    "el"/"the": "el #9812"), "voice" (no symbols) or "plain" (anywhere)."""
    if ticket_id.isdigit():
        n = ticket_id
        if where == "voice":
            return [f"ticket {n}", f"ID {n}", f"incidencia {n}" if lang == "es" else f"issue {n}"]
        forms = [f"#{n}", f"ticket {n}", f"ticket #{n}"]
        if where in ("paren", "plain"):
            forms.append(f"ID: {n}")
        if where == "plain":
            forms += [f"incidencia {n}", f"nº {n}"] if lang == "es" else [f"issue #{n}", f"issue {n}"]
        return forms
    return [ticket_id, f"ticket {ticket_id}"]


def render_ticket(rng: random.Random, ticket_id: str, lang: str, where: str = "plain") -> str:
    """One surface for a ticket id: "#9812", "ID: 9812", "ticket 9812", "JIRA-482", "ticket PAY-311"..."""
    forms = ticket_forms(ticket_id, lang, where)
    # The bare key ("JIRA-482") and "#9812" are the most common ways to write a ticket.
    return forms[0] if rng.random() < 0.35 else rng.choice(forms)


def ticket_context(template: str) -> str:
    """Which ticket forms fit where ``{t}`` sits in a template."""
    if "({t})" in template:
        return "paren"
    if re.search(r"\b(?:el|El) \{t\}", template):
        return "article"
    return "plain"


# Status ------------------------------------------------------------------------------------------------------

#: Each wording of STATUS_WORDS: (language it belongs to, kind of sentence it fits). "colour": "Semáforo en
#: verde"; "state": "El proyecto está en riesgo"; "phrase": "Todo OK."; "label": only after "Estado:".
STATUS_KINDS: dict[str, tuple[str, str]] = {
    "verde": ("es", "colour"), "amarillo": ("es", "colour"), "rojo": ("es", "colour"), "ámbar": ("es", "colour"),
    "green": ("en", "colour"), "yellow": ("en", "colour"), "amber": ("en", "colour"), "red": ("en", "colour"),
    "en plazo": ("es", "state"), "en riesgo": ("es", "state"), "bloqueado": ("es", "state"), "parado": ("es", "state"),
    "on track": ("en", "state"), "at risk": ("en", "state"), "off track": ("en", "state"), "blocked": ("en", "state"),
    "todo OK": ("es", "phrase"), "todo bien": ("es", "phrase"), "crítico": ("es", "label"),
    "precaución": ("es", "label"), "OK": ("any", "label"),
}


def status_wordings(status: str, lang: str) -> list[tuple[str, str]]:
    """(wording, sentence kind) pairs a report in ``lang`` may use for ``status``.

    Spanish reports also borrow the English wordings ("Status: green", "RAG: red"), always after a label.
    """
    out = []
    for word in STATUS_WORDS[status]:
        word_lang, kind = STATUS_KINDS[word]
        if word_lang in (lang, "any"):
            out.append((word, kind))
        elif lang == "es":
            out.append((word, "label"))
    return out


def render_status(rng: random.Random, status: str, lang: str) -> tuple[str, str]:
    """A status wording (in one of its case variants) and the kind of sentence it fits."""
    options = status_wordings(status, lang)
    native = [o for o in options if STATUS_KINDS[o[0]][0] in (lang, "any")]
    word, kind = rng.choice(native if rng.random() < 0.85 else options)
    roll = rng.random()
    if roll < 0.25:
        word = cap(word)
    elif roll < 0.37:
        word = word.upper()
    return word, kind


# Project names -----------------------------------------------------------------------------------------------

_QUOTES = (("", ""), ("'", "'"), ('"', '"'), ("«", "»"), ("“", "”"))
_QUOTE_WEIGHTS = (45, 20, 15, 12, 8)


def project_forms(name: str) -> list[str]:
    """The name as a report quotes it: bare, 'Alpha', "Alpha", «Alpha», “Alpha”."""
    return [f"{a}{name}{b}" for a, b in _QUOTES]


def render_project(rng: random.Random, name: str) -> str:
    """One quoted (or bare) form of a project name."""
    a, b = rng.choices(_QUOTES, weights=_QUOTE_WEIGHTS)[0]
    return f"{a}{name}{b}"


def cap(text: str) -> str:
    """First character upper-cased, the rest untouched ("el SSO" -> "El SSO", "iPhone app" -> "IPhone app")."""
    return text[:1].upper() + text[1:]
