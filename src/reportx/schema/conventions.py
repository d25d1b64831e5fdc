"""The value conventions of the built-in schema (BRIEF section 2), as parsers.

Each ``parse_*`` function takes what a model (or a person) might write for a field and returns the canonical
value, ``None`` for "not stated", or raises ``ValueError`` when the value cannot mean anything valid. The
Pydantic schema applies them on validation, the synthesizer's tests check its surface forms against them and
the metrics compare canonical values, so there is one definition of every convention.

Hand-written rather than a library: the conventions (Spanish and English money formats, "día y medio" = 12 h,
a working day of 8 hours, the traffic-light wording) are this product's, and no parsing library encodes them.
"""

from __future__ import annotations

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


_STATUS_BY_WORD: dict[str, str] = {fold(w): value for value, words in STATUS_WORDS.items() for w in words}
_STATUS_BY_WORD.update({fold(v): v for v in STATUS_VALUES})
# Longest wording first, so "todo ok" wins over "ok" and "off track" over nothing shorter.
_STATUS_PATTERN = re.compile(
    r"(?<![a-z0-9])(" + "|".join(re.escape(w) for w in sorted(_STATUS_BY_WORD, key=len, reverse=True)) + r")(?![a-z0-9])"
)


def parse_status(value: Any) -> str | None:
    """Map a status wording ("verde", "todo OK", "at risk", "Rojo") to Verde / Amarillo / Rojo."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"status must be a string, got {type(value).__name__}")
    if _is_null_word(value):
        return None
    key = fold(value).strip(" .!:;,")
    if key in _STATUS_BY_WORD:
        return _STATUS_BY_WORD[key]
    found = {_STATUS_BY_WORD[m.group(1)] for m in _STATUS_PATTERN.finditer(key)}
    if len(found) == 1:
        return found.pop()
    raise ValueError(f"not a status wording: {value!r} (expected one of {', '.join(STATUS_VALUES)})")


def parse_text(value: Any) -> str | None:
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


def parse_project_name(value: Any) -> str | None:
    """A project name as written, without quotes and without the word "proyecto"/"project"."""
    text = parse_text(value)
    if text is None:
        return None
    text = text.strip(_QUOTES + " ")
    text = _PROJECT_WORD.sub("", text)
    text = _PROJECT_SUFFIX.sub("", text).strip(_QUOTES + " ")
    return text or None


#: What a ticket id may look like once normalised ("9812", "JIRA-482", "OPS_7/2"): the record's JSON Schema carries
#: it as ``pattern`` so that constrained decoding cannot write free text ("bug de login") as a ticket id.
TICKET_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-/.]*$"

_TICKET_PREFIX = re.compile(r"^(?:ticket|tique|incidencia|issue|id|n[ºo°]\.?|núm\.?|num\.?)\s*[:#.]?\s*", re.IGNORECASE)


def parse_ticket_id(value: Any) -> str | None:
    """Strip "#", "ID:" and "ticket" from a ticket reference: "#9812" -> "9812", "JIRA-482" stays."""
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
    text = value.strip().strip(" .,;:()[]{}" + _QUOTES)
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
    return text


# Numbers ---------------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"\d+(?:[.,\s\u00a0\u202f]\d{3})*(?:[.,]\d+)?|\d+")


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
    r"(?P<num>\d+(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?)[ \u00a0]*"
    r"(?P<mult>k|mil|millones|million|millions|(?-i:M)|m(?=[ \u00a0]*(?:€|eur)))?(?![a-z])",
    re.IGNORECASE,
)
# "M" means millions; a lower-case "m" only does before a currency ("3 m€"), else it is metres or minutes.
_MULTIPLIERS = {"k": 1e3, "mil": 1e3, "m": 1e6, "millones": 1e6, "million": 1e6, "millions": 1e6}


def parse_money(value: Any) -> float | None:
    """Euros spent: "4500€ de 5000€" -> 4500, "4,5k€" -> 4500, "EUR 12,300" -> 12300, "12.300,50 €" -> 12300.5.

    A percentage is never an amount and raises. Of several amounts the first is the one spent
    ("X de Y" / "X of Y").
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
    match = _MONEY_RE.search(value)
    if not match:
        raise ValueError(f"no amount in {value!r}")
    amount = parse_number(match.group("num"))
    mult = match.group("mult")
    if mult:
        amount *= _MULTIPLIERS[mult.lower()]
    return round(amount, 2)


# Durations -------------------------------------------------------------------------------------------------

_WORD_NUMBERS = {
    "un": 1, "una": 1, "uno": 1, "a": 1, "an": 1, "one": 1, "dos": 2, "two": 2, "tres": 3, "three": 3,
    "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "siete": 7, "seven": 7, "ocho": 8,
    "eight": 8, "nueve": 9, "nine": 9, "diez": 10, "ten": 10, "doce": 12, "twelve": 12, "medio": 0.5,
    "media": 0.5, "half": 0.5, "half a": 0.5, "half an": 0.5,
}
_UNIT_HOURS = {
    "dia": HOURS_PER_DAY, "dias": HOURS_PER_DAY, "day": HOURS_PER_DAY, "days": HOURS_PER_DAY,
    "jornada": HOURS_PER_DAY, "jornadas": HOURS_PER_DAY, "workday": HOURS_PER_DAY, "workdays": HOURS_PER_DAY,
    "hora": 1.0, "horas": 1.0, "hour": 1.0, "hours": 1.0, "h": 1.0, "hr": 1.0, "hrs": 1.0,
    "minuto": 1 / 60, "minutos": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "min": 1 / 60, "mins": 1 / 60,
    "m": 1 / 60,
}
_QTY = r"(?P<qty>\d+(?:[.,]\d+)?|" + "|".join(sorted((re.escape(w) for w in _WORD_NUMBERS), key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>" + "|".join(sorted(_UNIT_HOURS, key=len, reverse=True)) + r")"
_DURATION_RE = re.compile(r"(?<![a-z0-9])(?:" + _QTY + r"\s*)?" + _UNIT + r"(?![a-z])")
# "y medio"/"y media"/"and a half" after a unit adds half of that unit: "día y medio" = 12, "hora y media" = 1.5.
_AND_A_HALF_RE = re.compile(r"^\s*(?:y\s+medi[oa]|and\s+a\s+half)")
# "one and a half hours", "2 and a half days": the half belongs to the number, before the unit.
_N_AND_A_HALF_RE = re.compile(r"(?<![a-z0-9])(\d+|[a-z]+) and a half(?= )")
_CLOCK_RE = re.compile(r"(?<![\d])(\d+)\s*h\s*(\d{1,2})\s*(?:m|min)?(?![a-z\d])")


def parse_hours(value: Any) -> float | None:
    """A delay in hours: "2 horas" -> 2, "media hora" -> 0.5, "90 minutos" -> 1.5, "un día" -> 8,
    "día y medio" -> 12, "2 days" -> 16. A duration with no quantity ("unas horas") is None (unquantified)."""
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
    text = fold(value).replace("-", " ")
    text = re.sub(r"\b(?:full|whole|entero|entera|completo|completa)\s+", "", text)
    text = re.sub(r"\b(?:entero|entera|completo|completa)\b", "", text)
    text = _N_AND_A_HALF_RE.sub(_plus_half, text)
    if re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return parse_number(text) if "," not in text else float(text.replace(",", "."))
    clock = _CLOCK_RE.search(text)
    if clock:
        return round(int(clock.group(1)) + int(clock.group(2)) / 60, 4)
    total = 0.0
    quantified = unquantified = False
    for m in _DURATION_RE.finditer(text):
        unit = _UNIT_HOURS[m.group("unit")]
        qty = m.group("qty")
        half = _AND_A_HALF_RE.match(text[m.end():])
        if qty is None and not half:
            unquantified = True  # "unas horas", "some days"
            continue
        amount = 1.0 if qty is None else float(qty.replace(",", ".")) if qty[0].isdigit() else float(_WORD_NUMBERS[qty])
        total += amount * unit + (unit / 2 if half else 0.0)
        quantified = True
    if quantified:
        return round(total, 4)
    if unquantified:
        return None
    raise ValueError(f"not a duration: {value!r}")


def _plus_half(match: re.Match[str]) -> str:
    number = match.group(1)
    value = float(number) if number.isdigit() else _WORD_NUMBERS.get(number)
    return match.group(0) if value is None else f"{value + 0.5:g}"
