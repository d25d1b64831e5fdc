"""The value conventions of the built-in schema (BRIEF section 2), as parsers.

Each ``parse_*`` function takes what a model (or a person) might write for a field and returns the canonical
value, ``None`` for "not stated", or raises ``ValueError`` when the value cannot mean anything valid. The
Pydantic schema applies them on validation, the synthesizer's tests check its surface forms against them and
the metrics compare canonical values, so there is one definition of every convention.

Hand-written rather than a library: the conventions (Spanish and English money formats, "día y medio" = 12 h,
a working day of 8 hours, the traffic-light wording) are this product's, and no parsing library encodes them.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Any

STATUS_VALUES: tuple[str, ...] = ("Verde", "Amarillo", "Rojo")

#: Every wording of BRIEF section 2 for each status value, as written in reports.
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "Verde": ("verde", "green", "OK", "todo OK", "todo bien", "on track", "en plazo"),
    "Amarillo": ("amarillo", "yellow", "ámbar", "amber", "en riesgo", "at risk", "precaución"),
    "Rojo": ("rojo", "red", "bloqueado", "crítico", "blocked", "off track", "parado"),
}

HOURS_PER_DAY = 8.0

#: Strings that mean "nothing stated" when a model writes them instead of JSON null.
NULL_WORDS = frozenset(
    {"", "null", "none", "nil", "n/a", "na", "-", "--", "—", "?", "unknown", "desconocido", "ninguno", "ninguna",
     "no consta", "sin datos", "not stated", "no indicado", "n.d.", "nd"}
)


def fold(text: str) -> str:
    """Lower-case, strip accents and collapse whitespace: the comparison key for wording."""
    decomposed = unicodedata.normalize("NFKD", text)
    no_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(no_marks.lower().split())


def _is_null_word(text: str) -> bool:
    return fold(text).strip(" .") in NULL_WORDS


#: Further ways of writing a status, for reading only (the synthesizer writes STATUS_WORDS, the brief's list).
#: Each is the same colour or phrase in another form: a traffic-light emoji is the light itself, and Unicode has no
#: amber circle, so the amber light is drawn orange (🟠, 🟧); "all good" is "todo bien" in English.
#: Not here, on purpose: "on hold" / "en pausa" and "delayed" / "retrasado" report a state of the work, not a
#: colour (a project paused by its client may be green, a delay may be amber or red); "orange" is also a company;
#: "okay" is a filler in dictated reports ("okay, starting"); a bare "✅" marks a task done (see _LABELLED_MARK_RE).
STATUS_EXTRA_WORDS: dict[str, tuple[str, ...]] = {
    "Verde": ("🟢", "🟩", "all good"),
    "Amarillo": ("🟡", "🟨", "🟠", "🟧"),
    "Rojo": ("🔴", "🟥"),
}

_STATUS_BY_WORD: dict[str, str] = {
    fold(w): value for table in (STATUS_WORDS, STATUS_EXTRA_WORDS) for value, words in table.items() for w in words
}
_STATUS_BY_WORD.update({fold(v): v for v in STATUS_VALUES})
# Longest wording first, so "todo ok" wins over "ok" and "off track" over nothing shorter.
_STATUS_PATTERN = re.compile(
    r"(?<![a-z0-9])(" + "|".join(re.escape(w) for w in sorted(_STATUS_BY_WORD, key=len, reverse=True)) + r")(?![a-z0-9])"
)
# "not on track", "no está en plazo", "isn't blocked", "sin riesgo": a negated wording states no status (and which
# one it means instead is not said), so it is not counted. One word may sit between ("not yet", "no está").
_NEGATED = re.compile(r"(?:(?<![a-z])(?:no|not|sin|nunca|never|ni)|n't)\s+(?:[a-z]+\s+)?$")


def _is_negated(key: str, start: int) -> bool:
    # Only the last 30 characters before the wording: two words back are enough, and a long text stays linear.
    return _NEGATED.search(key, max(0, start - 30), start) is not None


# A change of status is written with an arrow or "to" / "a" ("Red → Amber", "de amarillo a verde", "RAG: R → A");
# the status it states is the latest one, after the last arrow.
_ARROW = r"(?:-+>|=+>|[→⟶➡➜➔➝➞⇒⇨»>])"
# A RAG letter ("RAG: A", "R/A/G: G") or a check mark ("Estado: ✅") is a status only right after a status label:
# alone, "A" is a letter and "✅" marks a task done (the chat reports use it so), not a colour: a quote of a bare
# "✅" raises rather than read as Verde.
_RAG_LETTER_RE = re.compile(
    r"^(?:rag|r\s*/\s*a\s*/\s*g)(?:\s+status)?\s*[:=-]?\s*(?:[rag]\s*(?:" + _ARROW + r"|to)\s*)*(?P<letter>[rag])$"
)
_RAG_LETTERS = {"g": "Verde", "a": "Amarillo", "r": "Rojo"}
_LABELLED_MARK_RE = re.compile(
    r"^(?:estado|status|state|semaforo|situacion|rag(?:\s+status)?)\s*[:=-]?\s*[✅✔☑]\ufe0f?$"  # U+FE0F: emoji style
)


# What may stand between two statuses for the second to replace the first: an arrow, "to" / "a" ("de rojo a verde"),
# "now" / "ahora" ("was red, now amber"), "then" / "luego", with spaces and punctuation around. Anything else between
# two different statuses ("verde o rojo", "green, red") leaves the text stating no one status.
_CHANGE_GAP_RE = re.compile(
    r"[\s,;:()\[\]*_\"'`.]*(?:(?:" + _ARROW + r"|(?<![a-z])(?:(?:back\s+)?(?:in)?to|a|hacia|now|ahora|then|luego)(?![a-z]))"
    r"[\s,;:()\[\]*_\"'`.]*)+"
)
_SAME_GAP_RE = re.compile(r"[\s,;:()\[\]*_\"'`.]*")  # "Verde 🟢", "**Rojo** (red)": the same status said twice


def _latest_of_a_change(key: str, found: list[re.Match[str]]) -> str | None:
    """The status after the last arrow of a change ("Red → Amber" -> Amarillo, "from red to amber", "rojo -> ámbar"),
    or None when the statuses in ``key`` are not written as a change."""
    if len(found) < 2:
        return None
    current = _STATUS_BY_WORD[found[0].group(1)]
    for before, match in itertools.pairwise(found):
        gap, status = key[before.end():match.start()], _STATUS_BY_WORD[match.group(1)]
        if len(gap) <= 40 and _CHANGE_GAP_RE.fullmatch(gap):
            current = status
        elif status != current or not _SAME_GAP_RE.fullmatch(gap):
            return None
    return current


def parse_status(value: Any) -> str | None:
    """Map a status wording ("verde", "todo OK", "at risk", "Rojo", "RAG: A", "🟢") to Verde / Amarillo / Rojo.

    A change ("Red → Amber", "de amarillo a verde") states its latest status; two statuses joined any other way
    ("verde o rojo") state none and raise, as does text with no status wording."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"status must be a string, got {type(value).__name__}")
    if _is_null_word(value):
        return None
    key = fold(value).replace("\ufe0f", "").replace("\ufe0e", "")  # emoji / text presentation selectors
    key = re.sub(r"(?<=[a-z])[-_](?=[a-z])", " ", key).strip(" .!:;,")  # "at-risk", "off_track"
    if key in _STATUS_BY_WORD:
        return _STATUS_BY_WORD[key]
    letter = _RAG_LETTER_RE.match(key)
    if letter:
        return _RAG_LETTERS[letter.group("letter")]
    if _LABELLED_MARK_RE.match(key):
        return "Verde"
    found = [m for m in _STATUS_PATTERN.finditer(key) if not _is_negated(key, m.start())]
    if len({_STATUS_BY_WORD[m.group(1)] for m in found}) == 1:
        return _STATUS_BY_WORD[found[0].group(1)]
    latest = _latest_of_a_change(key, found)
    if latest is not None:
        return latest
    raise ValueError(f"not a status wording: {value!r} (expected one of {', '.join(STATUS_VALUES)})")


#: A phrase that says nothing was done or nothing is decided yet ("Hoy nada terminado", "No milestone closed
#: today", "TBD", "Por definir", "We'll see tomorrow"), matched on the folded text from its start. A model asked
#: to quote the report may quote such a sentence for a milestone or a next step; what it states is "none", so
#: the code reads it as null (the model quotes, the code normalises).
_SAYS_NOTHING = re.compile(
    r"^(?:(?:hoy|today|todavia|aun|yet|so far|de momento|for now)\s*,?\s+)?"
    r"(?:(?:nada|nothing|ningun[oa]?|none|tbd|tba|not yet)\b|(?:no|sin)\s"
    r"|(?:(?:esta|queda|sigue|todo)\s+)?(?:por|a|pendiente de|sin)\s+(?:definir|determinar|confirmar|decidir|concretar)\b"
    r"|(?:still\s+)?(?:to be|yet to be)\s+(?:defined|determined|confirmed|decided|agreed)\b"
    r"|(?:definir|pendiente)\W*$|(?:ya\s+)?(?:lo|la)?\s*(?:vemos|veremos)\b|we'?ll see\b)"
)


def says_nothing(text: str) -> bool:
    """Whether a short text states that nothing was done or nothing is decided (see ``_SAYS_NOTHING``)."""
    return bool(_SAYS_NOTHING.match(fold(text)))


def parse_text(value: Any) -> str | None:
    """Trim a free-text value; empty strings, null words and phrases that say "nothing" (``says_nothing``:
    "Nothing finished today", "Por definir") become None."""
    text = _trimmed_text(value)
    return None if text is None or says_nothing(text) else text


def _trimmed_text(value: Any) -> str | None:
    """Trim a free-text value; empty strings and null words become None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    text = " ".join(value.split()).strip()
    if _is_null_word(text):
        return None
    return text


_QUOTES = "\"'«»“”‘’`"
_PROJECT_WORD = re.compile(r"^(?:(?:el|the)\s+)?(?:proyecto|project)\s*:?\s+", re.IGNORECASE)
_PROJECT_SUFFIX = re.compile(r"\s+(?:project|proyecto)$", re.IGNORECASE)
# A subject line's tail after a spaced dash names the report, not the project: "Portal del Empleado – martes",
# "Harbourside – daily update", "Nómina360 - Daily 22/05". A tail that is anything else stays ("Northgate Tower –
# Phase 2").
_REPORT_TAIL_WORDS = (
    r"(?:daily|weekly)(?:\s+(?:update|status|report|stand-?up))?", r"update", r"status(?:\s+report)?", r"report",
    r"stand-?up", r"summary", r"recap", r"informe(?:\s+(?:diario|semanal))?", r"resumen(?:\s+(?:diario|semanal))?",
    r"reporte", r"parte(?:\s+diario)?", r"seguimiento", r"actualizaci[oó]n", r"estado",
    r"lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo",
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday", r"(?:semana|week)\s*\d+",
    r"\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?",
)
_PROJECT_REPORT_TAIL = re.compile(
    r"\s+[-\u2013\u2014|]\s+(?:" + "|".join(_REPORT_TAIL_WORDS) + r")(?![\w])[^-\u2013\u2014|]{0,30}$", re.IGNORECASE
)
# Punctuation a dictation transcript spells out, after the name: "orión coma", "Granite period".
_PROJECT_SPOKEN_PUNCTUATION = re.compile(r"(?<=\w)\s+(?:coma|punto|comma|period|full\s+stop)$", re.IGNORECASE)


def parse_project_name(value: Any) -> str | None:
    """A project name as written, without quotes and without the word "proyecto"/"project", nor a subject line's
    tail that names the report ("– daily update", "- martes 12/03") or a dictated "coma"/"period" after it."""
    text = _trimmed_text(value)  # a name is never read as a "nothing" phrase (a project "Nada Igual")
    if text is None:
        return None
    text = text.strip(_QUOTES + " ")
    text = _PROJECT_WORD.sub("", text)
    text = _PROJECT_SUFFIX.sub("", text).strip(_QUOTES + " ")
    text = _PROJECT_SPOKEN_PUNCTUATION.sub("", _PROJECT_REPORT_TAIL.sub("", text)).strip(_QUOTES + " ")
    return text or None


#: What a ticket id may look like once normalised ("9812", "JIRA-482", "OPS_7/2"): the record's JSON Schema carries
#: it as ``pattern`` so that constrained decoding cannot write free text ("bug de login") as a ticket id.
TICKET_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-/.]*$"

#: Words written before a ticket's id ("bug #12", "ticket número 4471"). A word is a prefix only when no letter or
#: dash follows it, so that a key spelled like one stays whole ("BUG-77", "IDX-12", "CASE-9"); "ticket4471" and
#: "ID9812" still lose theirs.
_TICKET_WORDS = (
    "ticket", "tique", "incidencia", "incidente", "incident", "issue", "bug", "caso", "case", "tarea", "task",
    "story", "historia", "req", "request", "petici[oó]n", "solicitud", "pr", "mr", "ref", "referencia", "reference",
    "n[uú]mero", "number", "n[uú]m", "nr", "no", "id",
)
#: Trackers named before the id ("JIRA COS-145", "Jira: OPS-12", "GitHub issue #77"): the tool, not the id. Written
#: as a key ("JIRA-482") the name stays, as the words above do.
_TRACKERS = (
    "jira", "redmine", "github", "gitlab", "bitbucket", "servicenow", "youtrack", "bugzilla", "mantis", "zendesk",
    "freshdesk", "glpi", "otrs", "azure\\s+devops",
)
_TICKET_WORD = r"(?:(?:" + "|".join(_TICKET_WORDS + _TRACKERS) + r")(?![a-z_-])|n\.?\s*[º°])"
# An article may lead ("el ticket #9812", "the issue 77"), and "de" / "of" join two words ("número de incidencia
# 6630", "ID de incidencia: 6630"), but only before another word of the list: "incidencia de red" names no id.
_TICKET_PREFIX = re.compile(
    r"^(?:(?:el|la|los|las|the|our|nuestro|nuestra)\s+)?" + _TICKET_WORD
    + r"\s*[:#.]?\s*(?:(?:de|del|of)\s+(?:(?:el|la|the)\s+)?(?=" + _TICKET_WORD + r"))?",
    re.IGNORECASE,
)
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})  # typographic dashes, as Word writes


def parse_ticket_id(value: Any) -> str | None:
    """Strip "#", "ID:", "ticket" and a tracker's name from a ticket reference: "#9812" -> "9812", "JIRA COS-145" ->
    "COS-145", "número de incidencia 6630" -> "6630"; "JIRA-482" stays. A word without a digit names no ticket
    (trackers number their tickets): a line's tag quoted as one ("[IMPEDIMENTO]", "CERRADO") is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("ticket_id must be text")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if not isinstance(value, str):
        raise ValueError(f"ticket_id must be text, got {type(value).__name__}")
    text = re.sub(r"\s+\([^()]*\)\s*$", "", value.translate(_DASHES))  # "#9812 (login)": the rest describes it
    text = text.strip().strip(" .,;:()[]{}" + _QUOTES)
    if _is_null_word(text):
        return None
    previous = None
    while previous != text:  # "ticket #ID: 44" needs more than one pass
        previous = text
        text = _TICKET_PREFIX.sub("", text).lstrip("#:. ").strip()
    text = text.strip(" .,;:()[]" + _QUOTES)
    if not text:
        return None
    if not re.match(TICKET_ID_PATTERN, text):
        raise ValueError(f"not a ticket id: {value!r}")
    return text if any(c.isdigit() for c in text) else None


# Numbers ---------------------------------------------------------------------------------------------------

NUMBER_RE = re.compile(r"\d+(?:[.,\s\u00a0\u202f]\d{3})*(?:[.,]\d+)?|\d+")


def parse_number(token: str) -> float:
    """Read "4.500", "12,300", "12.300,50", "1,234.5" or "4,5" as a float (European or English separators).

    A lone separator followed by exactly three digits is a thousands separator ("4.500" = 4500); anything
    else is the decimal mark ("4,5" = 4.5). Where both marks occur, the last one is the decimal mark.
    """
    s = token.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not s or not re.fullmatch(r"\d[\d.,]*", s):
        raise ValueError(f"not a number: {token!r}")
    if "." in s and "," in s:
        decimal = "." if s.rfind(".") > s.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        return float(s.replace(thousands, "").replace(decimal, "."))
    for mark in (".", ","):
        if mark in s:
            parts = s.split(mark)
            if len(parts) > 2 or len(parts[1]) == 3:
                if not all(len(p) == 3 for p in parts[1:]):
                    raise ValueError(f"not a number: {token!r}")
                return float("".join(parts))
            return float(parts[0] + "." + parts[1])
    return float(s)


_MONEY_RE = re.compile(
    # A number glued to a letter or a dash is no amount ("JIRA-482", "Q3", "1e5"), unless the letters are the
    # currency ("EUR12300"); a currency before the number also lets a lower-case "m" mean millions ("€2.5m").
    r"(?:(?P<cur>€|\beur)[ \u00a0]*|(?<![\w.,-]))"
    r"(?P<num>\d+(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?)[ \u00a0]*"
    r"(?P<mult>mil[ \u00a0]+millones|millones|millon|millions?|mill\.|billones|billon|billions?|bn|k|mil|(?-i:MM|M)"
    r"|(?(cur)m|m(?=[ \u00a0]*(?:€|eur))))?(?![a-z])"
    r"(?P<half>(?<=on|es)[ \u00a0]+y[ \u00a0]+medio(?![a-z]))?",  # "2 millones y medio": after millón/billón, not "k"
    re.IGNORECASE,
)
# "M" means millions; a lower-case "m" only does next to a currency ("3 m€", "€2.5m"), else it is metres or minutes.
# "MM" is Latin American for millions; "billón" is Spanish for 10^12, "billion" English for 10^9.
_MULTIPLIERS = {
    "k": 1e3, "mil": 1e3, "m": 1e6, "mm": 1e6, "mill.": 1e6, "millon": 1e6, "millones": 1e6, "million": 1e6,
    "millions": 1e6, "mil millones": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "billon": 1e12, "billones": 1e12,
}
#: Amounts in words, rewritten as digits before reading: "un millón" -> "1 millon", "mil euros" -> "1000 euros".
_MONEY_WORDS = (
    (re.compile(r"(?<![\w.,])(?:medio|half\s+a)\s+(?=milli?on)", re.IGNORECASE), "0.5 "),  # before "a million"
    (re.compile(r"(?<![\w.,])(?:un|one|a)\s+(?=milli?on)", re.IGNORECASE), "1 "),
    (re.compile(r"(?<![\w.,])(?:cero|zero)(?=\s*(?:€|eur))", re.IGNORECASE), "0"),
    # "mil euros" is a thousand; "30 mil euros" is read by _MONEY_RE, so a number before "mil" leaves it alone,
    # and so does a spelled-out one ("ciento veinte mil euros" is not read at all rather than read as 1000).
    (re.compile(r"(?P<number>\d[ \u00a0]*)?(?<![\w.,])mil(?=\s*(?:€|eur))", re.IGNORECASE),
     lambda m: m.group(0) if m.group("number") or _spelled_number_before(m) else "1000"),
)
# The tail of a spelled-out Spanish or English number: "ciento veinte", "doscientos", "treinta y", "ninety".
_SPELLED_NUMBER_TAIL = re.compile(
    r"(?:\b(?:y|and|cien|ciento|\w*cientos|\w*cientas|\w*enta|veinti\w+|hundred|thousand|\w*teen|\w*ty)"
    r"|\b(?:" + "|".join(("uno", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez",
                           "once", "doce", "trece", "catorce", "quince", "veinte", "one", "two", "three", "four",
                           "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")) + r"))\s*$",
    re.IGNORECASE,
)


def _spelled_number_before(match: re.Match[str]) -> bool:
    return _SPELLED_NUMBER_TAIL.search(match.string, max(0, match.start() - 20), match.start()) is not None
# Another currency's amount is not an amount in euros: "$1,000", "USD 500", "500 dólares", "MXN 20.000".
_OTHER_CURRENCY = re.compile(
    r"[$£¥]|(?<![a-z])(?:usd|gbp|mxn|ars|clp|cop|pen|brl|chf|dolar(?:es)?|dollars?|libras?|pounds?|pesos?)(?![a-z])",
    re.IGNORECASE,
)
_EURO = re.compile(r"€|(?<![a-z])eur", re.IGNORECASE)


def _strip_accents(text: str) -> str:
    # Case is kept: "M" (millions) and "m" (metres) differ.
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def parse_money(value: Any) -> float | None:
    """Euros spent: "4500€ de 5000€" -> 4500, "4,5k€" -> 4500, "EUR 12,300" -> 12300, "12.300,50 €" -> 12300.5.

    A percentage is never an amount and raises, and so does an amount in another currency. Of several amounts
    the first is the one spent ("X de Y" / "X of Y").
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("budget must be a number")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("budget cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"budget must be a number, got {type(value).__name__}")
    if _is_null_word(value):
        return None
    if "%" in value:
        raise ValueError(f"a percentage is not an amount in euros: {value!r}")
    text = _strip_accents(value)
    if _OTHER_CURRENCY.search(text) and not _EURO.search(text):
        raise ValueError(f"not an amount in euros: {value!r}")
    for pattern, digits in _MONEY_WORDS:
        text = pattern.sub(digits, text)
    match = _MONEY_RE.search(text)
    if not match:
        raise ValueError(f"no amount in {value!r}")
    amount = parse_number(match.group("num"))
    mult = match.group("mult")
    if mult:
        scale = _MULTIPLIERS[" ".join(mult.lower().split())]
        amount = amount * scale + (scale / 2 if match.group("half") else 0.0)
    return round(amount, 2)


# Durations -------------------------------------------------------------------------------------------------

#: Number words that state a quantity ("dos horas", "a couple of days"). "unas", "a few", "varias", "some" are not
#: here: they state no number, and "unas horas" is unquantified (None).
_WORD_NUMBERS = {
    "cero": 0, "zero": 0, "un": 1, "una": 1, "uno": 1, "a": 1, "an": 1, "one": 1, "dos": 2, "two": 2, "tres": 3,
    "three": 3, "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "siete": 7, "seven": 7,
    "ocho": 8, "eight": 8, "nueve": 9, "nine": 9, "diez": 10, "ten": 10, "once": 11, "eleven": 11, "doce": 12,
    "twelve": 12, "quince": 15, "fifteen": 15, "veinte": 20, "twenty": 20, "veinticuatro": 24, "twenty four": 24,
    "treinta": 30, "thirty": 30, "cuarenta y cinco": 45, "forty five": 45, "cuarenta y ocho": 48, "forty eight": 48,
    "sesenta": 60, "sixty": 60, "noventa": 90, "ninety": 90,
    "un par": 2, "par": 2, "a couple": 2, "couple": 2,  # "un par de horas", "a couple of days": a couple is two
    "medio": 0.5, "media": 0.5, "half": 0.5, "half a": 0.5, "half an": 0.5,
}
#: Hours per unit. None: a duration the conventions give no hours for (a week: 5 working days or 7? a month?),
#: so a quote that uses one is not converted (None) rather than guessed.
_UNIT_HOURS: dict[str, float | None] = {
    "dia": HOURS_PER_DAY, "dias": HOURS_PER_DAY, "day": HOURS_PER_DAY, "days": HOURS_PER_DAY, "d": HOURS_PER_DAY,
    "jornada": HOURS_PER_DAY, "jornadas": HOURS_PER_DAY, "workday": HOURS_PER_DAY, "workdays": HOURS_PER_DAY,
    "hora": 1.0, "horas": 1.0, "horita": 1.0, "horitas": 1.0, "hour": 1.0, "hours": 1.0, "h": 1.0, "hr": 1.0,
    "hrs": 1.0, "hs": 1.0,
    "minuto": 1 / 60, "minutos": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "min": 1 / 60, "mins": 1 / 60,
    "m": 1 / 60,
    "semana": None, "semanas": None, "week": None, "weeks": None, "mes": None, "meses": None, "month": None,
    "months": None,
}


def _alternation(words: Any) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


# Digits may touch their unit ("2h"); a number word needs a space, or "ahora" (now) would be "a hora", "mediodía"
# (noon) "medio día" and "and" "an d(ay)". A glued typo ("doshoras") is then left unread rather than misread.
_DURATION_RE = re.compile(
    r"(?<![a-z0-9])(?:(?:(?P<num>\d+(?:[.,]\d+)?)\s*|(?P<word>" + _alternation(_WORD_NUMBERS) + r")\s+)"
    r"(?:(?:de|of)\s+)?)?(?P<unit>" + _alternation(_UNIT_HOURS) + r")(?![a-z])"
)
# A fraction after a unit adds that part of the unit: "día y medio" = 12, "hora y media" = 1.5, "2 horas y cuarto".
# "y pico" / "y algo" (and a bit) adds an unstated part of the unit, which is not guessed: "hora y pico" reads as the
# hour it states (1), as "una hora y pico", "an hour or so", "about an hour" and "unas 3 horas" read as theirs. The
# number the person gave is kept and nothing is added to it; a quote with no number at all ("unas horas") stays
# None. "20 y pico horas" (twenty-odd: anywhere up to 29) puts the "pico" in the number, not in the unit, and stays
# unread (None).
_AND_A_FRACTION_RE = re.compile(
    r"^\s*(?:y\s+(?P<es>medi[oa]|cuarto|pico|algo)|and\s+a\s+(?P<en>half|quarter))(?![a-z])"
)
_FRACTION_OF = {"medio": 0.5, "media": 0.5, "half": 0.5, "cuarto": 0.25, "quarter": 0.25, "pico": 0.0, "algo": 0.0}
# "one and a half hours", "2 y media horas": the half belongs to the number, before the unit.
_N_AND_A_HALF_RE = re.compile(r"(?<![a-z0-9.,])(\d+|[a-z]+) (?:and a half|y medi[oa])(?= )")
_CLOCK_RE = re.compile(r"(?<![\d])(\d+)\s*h\s*(\d{1,2})\s*(?:m|min)?(?![a-z\d])")  # "1h30", "1 h 30 min"
# "1:30 h"; without a unit "10:30" is a time of day
_COLON_RE = re.compile(r"(?<![\d:])(\d{1,2}):([0-5]\d)\s*(?:h|hrs?|hs|horas?|hours?)(?![a-z])")
_VULGAR_RE = re.compile(r"(?<!\d)(?:(\d+)\s*)?([½¼¾])")  # before fold: NFKD writes "½" as "1⁄2"
_SLASH_FRACTION_RE = re.compile(r"(?<![\d/.,])(?:(\d+)\s+)?([13])/([24])(?![\d/])")  # "1/2 hora", "2 1/2 días"
_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75, "1/2": 0.5, "1/4": 0.25, "3/4": 0.75}

# A range ("2-3 horas", "entre 2 y 3 horas", "una o dos horas", "3–4h") states no one duration; choosing an end or
# the middle would be inventing, so it is None. A range goes up: "4471 - 2 horas" (a ticket, then 2 hours) is none.
_RANGE_NUMBER = r"\d+(?:[.,]\d+)?|" + _alternation(w for w, n in _WORD_NUMBERS.items() if n >= 1 and n == int(n)
                                                   and w not in ("a", "an", "un par", "par", "a couple", "couple"))
_RANGE_RE = re.compile(
    r"(?<![a-z0-9.,])(?P<lo>" + _RANGE_NUMBER + r")\s*(?:-|–|—|/|a|o|u|to|or|y|and)\s*(?P<hi>" + _RANGE_NUMBER
    + r")\s*(?:(?:de|of)\s+)?(?:" + _alternation(_UNIT_HOURS) + r")(?![a-z])"
)
# "all day", "todo el día", "toda la jornada", "la jornada completa", "the whole day", "un día entero": one day.
_WHOLE = r"(?:all|todo|toda|whole|full|entire|entero|entera|completo|completa)"
_ONE_DAY = r"(?:dia|day|jornada|workday)"
_WHOLE_DAY_RE = re.compile(
    rf"(?<![a-z0-9])(?:(?:un|una|a|an|one|the|el|la)\s+)?(?:{_WHOLE}\s+(?:(?:the|el|la|un|una|a)\s+)?{_ONE_DAY}"
    rf"|{_ONE_DAY}\s+{_WHOLE})(?![a-z])"
)
_UNIT_AHEAD = r"(?=(?:" + _alternation(_UNIT_HOURS) + r")(?![a-z]))"
# "another hour", "otra jornada", "otro día": one more of the unit. Not after an article or "every" / "cada": "el
# otro día" and "the other day" say when (recently), "every other day" how often; the plural ("otros días") is
# unquantified. "otras 2 horas" and "another half hour" need no rewriting: their number is read as it stands.
_ANOTHER_RE = re.compile(r"(?<![a-z])(?<!el )(?<!la )(?<!the )(?<!every )(?<!cada )(?:another|otr[oa])\s+" + _UNIT_AHEAD)
_MORE_RE = re.compile(r"(?<![a-z])(?:more|extra|additional|adicional|adicionales|mas)\s+" + _UNIT_AHEAD)
# "un cuarto de hora", "three quarters of an hour", "a quarter hour".
_QUARTER_RE = re.compile(
    r"(?<![a-z])(?:(?P<n>un|a|one|tres|three)\s+)?(?:cuartos?|quarters?)\s+(?:de\s+(?:una\s+)?hora|of\s+an\s+hour|hour)"
    r"(?![a-z])"
)
# A part of a day ("toda la mañana", "all morning", "una tarde") is a duration with no hours in the conventions.
# It needs a quantity before it: "mañana" alone is tomorrow, and "por la tarde" says when, not how long.
_PART_OF_DAY = r"(?:manana|tarde|morning|afternoon|evening)s?(?![a-z])"
_PART_OF_DAY_RE = re.compile(r"(?<![a-z0-9])(?:toda la|all|una|a|one|media|medio|half a|\d+|dos|two)\s+" + _PART_OF_DAY)
# Words that say a delay happened without saying how long: None, not a guess and not an error.
_VAGUE_RE = re.compile(
    r"(?<![a-z])(?:rat(?:o|ito)s?|while|a bit|un poco|tiempo|some time|delay(?:s|ed)?|retrasos?|demoras?"
    r"|(?:la|the)\s+" + _PART_OF_DAY +
    r"|unquantified|sin cuantificar|no cuantificad[oa]|not quantified|sin estimar|not estimated|por determinar"
    r"|tbd|tbc|indeterminad[oa])(?![a-z])"
)


def parse_hours(value: Any) -> float | None:
    """A delay in hours: "2 horas" -> 2, "media hora" -> 0.5, "90 minutos" -> 1.5, "un día" / "all day" -> 8,
    "día y medio" -> 12, "2 days" -> 16, "un par de horas" -> 2. None when the text states no single quantity:
    unquantified ("unas horas", "a while", "un rato"), a range ("2-3 horas") or a unit with no hours in the
    conventions ("una semana", "toda la mañana"). ``ValueError`` when it is no duration at all ("mañana")."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("delay_hours must be a number")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("delay_hours cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"delay_hours must be a number, got {type(value).__name__}")
    if _is_null_word(value):
        return None
    text = fold(_fractions_to_decimals(value))
    text = re.sub(r"(\d)['’](\d)(?!\d)", r"\1,\2", text)  # "2'5 horas": an apostrophe as decimal mark
    text = re.sub(r"(\d)\s*['’′](?![\d'’′])", r"\1 min", text)  # "90'": the prime is minutes
    if any(_as_number(m.group("lo")) < _as_number(m.group("hi")) for m in _RANGE_RE.finditer(text)):
        return None
    text = _rewrite_duration_words(text)
    if re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return parse_number(text) if "," not in text else float(text.replace(",", "."))
    clock = _CLOCK_RE.search(text) or _COLON_RE.search(text)
    if clock:
        return round(int(clock.group(1)) + int(clock.group(2)) / 60, 4)
    return _sum_durations(text, value)


def _rewrite_duration_words(text: str) -> str:
    """Folded text with the ways of writing a duration in words brought to "<number> <unit>"."""
    text = re.sub(r"[-–—]", " ", text)  # "2-hour delay", "half-day", "full-day"
    text = _WHOLE_DAY_RE.sub("1 dia", text)
    text = _QUARTER_RE.sub(lambda m: f"{45 if m.group('n') in ('tres', 'three') else 15} min", text)
    text = re.sub(r"\b(?:full|whole|entire|entero|entera|completo|completa)\s+", "", text)  # "3 full days"
    text = re.sub(r"\b(?:entero|entera|completo|completa)\b", "", text)
    text = re.sub(r"\b(?:working|business|work)\s+(?=days?\b)", "", text)  # "2 working days" are 2 days
    text = _MORE_RE.sub("", text)  # "2 more hours", "an extra day": as many as stated
    text = _ANOTHER_RE.sub("1 ", text)  # "otra jornada", "another hour": one more
    return _N_AND_A_HALF_RE.sub(_plus_half, text).strip()


def _sum_durations(text: str, value: str) -> float | None:
    total = 0.0
    quantified = unquantified = unconvertible = False
    for m in _DURATION_RE.finditer(text):
        unit = _UNIT_HOURS[m.group("unit")]
        qty = m.group("num") or m.group("word")
        fraction = _AND_A_FRACTION_RE.match(text[m.end():])
        if unit is None:
            unconvertible = True  # "una semana"
        elif qty is None and not fraction:
            unquantified = True  # "unas horas", "some days"
        else:
            part = _FRACTION_OF[fraction.group("es") or fraction.group("en")] if fraction else 0.0
            total += (1.0 if qty is None else _as_number(qty)) * unit + part * unit
            quantified = True
    if unconvertible or _PART_OF_DAY_RE.search(text):
        return None  # "2 días y una semana" has no total in hours either
    if quantified:
        return round(total, 4)
    if unquantified or _VAGUE_RE.search(text):
        return None
    raise ValueError(f"not a duration: {value!r}")


def _as_number(token: str) -> float:
    """A quantity as written: "2", "1,5", "dos", "a couple"."""
    return float(token.replace(",", ".")) if token[0].isdigit() else float(_WORD_NUMBERS[token])


def _fractions_to_decimals(text: str) -> str:
    """"1½ h" -> "1.5 h", "1/2 hora" -> "0.5 hora", "2 1/2 días" -> "2.5 días" (only halves and quarters)."""
    text = _VULGAR_RE.sub(lambda m: f"{int(m.group(1) or 0) + _FRACTIONS[m.group(2)]:g}", text)
    return _SLASH_FRACTION_RE.sub(
        lambda m: f"{int(m.group(1) or 0) + _FRACTIONS[m.group(2) + '/' + m.group(3)]:g}"
        if m.group(2) + "/" + m.group(3) in _FRACTIONS else m.group(0),
        text,
    )


def _plus_half(match: re.Match[str]) -> str:
    number = match.group(1)
    value = float(number) if number.isdigit() else _WORD_NUMBERS.get(number)
    return match.group(0) if value is None else f"{value + 0.5:g}"
