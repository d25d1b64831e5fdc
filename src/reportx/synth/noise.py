"""Text noise for some families: typos, missing accents, dictation style, upper case.

Template transforms (``typo_template``, ``voice_template``, ``lower_template``) touch only the template text
between ``{placeholders}``, so gold-bearing values (names, ticket ids, amounts, durations, status wordings)
are never altered; whole-text transforms (``strip_accents``, upper case) are mirrored on the gold by the caller.
"""

from __future__ import annotations

import random
import re
import unicodedata

from reportx.schema.conventions import STATUS_WORDS, fold

_PLACEHOLDER = re.compile(r"(\{[^{}]*\})")
_WORD = re.compile(r"[^\W\d_]+")
_STATUS_RE = re.compile(
    r"(?<![a-z0-9])(" + "|".join(sorted({fold(w) for ws in STATUS_WORDS.values() for w in ws}, key=len, reverse=True))
    + r")(?![a-z0-9])"
)
# Words a typo must never create or touch: duration units and quantities, and the words that decide what a
# value means (spent or total or remaining, closed or blocking, done or next); typos go to the rest.
_PROTECTED = {
    "hora", "horas", "hour", "hours", "dia", "dias", "day", "days", "jornada", "jornadas", "minutos", "minutes", "medio",
    "media", "half", "de", "of", "un", "una", "a", "an", "euros", "mil", "million", "millones", "workday", "min",
    "mins", "hrs", "ticket", "tickets", "proyecto", "project", "cliente", "client", "estado", "status",
    "total", "aprobado", "approved", "restante", "quedan", "queda", "remaining", "left", "gastado", "gastados",
    "consumido", "usado", "gasto", "spent", "used", "consumed", "presupuesto", "budget", "cerramos", "cerro", "cerrados", "resuelto",
    "closed", "resolved", "fixed", "impacto", "impact", "retraso", "delay", "siguiente", "proximo", "next",
    "completado", "completed", "terminado", "finished", "hecho", "done", "progreso", "progress", "avance",
}
_ABBREVIATIONS = {
    "es": {"que": "q", "por": "x", "porque": "xq", "también": "tb", "para": "pa", "pero": "pro", "estamos": "tamos"},
    "en": {"you": "u", "because": "bc", "tomorrow": "tmrw", "please": "pls", "with": "w/", "the": "teh", "are": "r"},
}


def map_template(template: str, fn) -> str:
    """Apply ``fn`` to the literal parts of a ``str.format`` template, leaving ``{placeholders}`` intact."""
    return "".join(part if _PLACEHOLDER.fullmatch(part) else fn(part) for part in _PLACEHOLDER.split(template))


def is_status_text(text: str) -> bool:
    """Whether the text states a status wording of BRIEF section 2 (folded, word boundaries)."""
    return _STATUS_RE.search(fold(text)) is not None


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    op = rng.randrange(3)
    if op == 0:  # swap two neighbouring letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:  # drop one
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]  # double one


def typo_template(template: str, rng: random.Random, lang: str, rate: float = 0.12) -> str:
    """Typos and chat abbreviations in a template's own words (never in values)."""
    abbreviations = _ABBREVIATIONS[lang]

    def noisy(part: str) -> str:
        def one(m: re.Match) -> str:
            word = m.group(0)
            low = word.lower()
            if fold(low) in _PROTECTED:
                return word
            if low in abbreviations and rng.random() < 0.5:
                return abbreviations[low]
            if len(word) < 5 or rng.random() >= rate:
                return word
            new = _typo(word, rng)
            # A typo that happens to spell a status wording or a unit would change the meaning.
            if fold(new) in _PROTECTED or is_status_text(new):
                return word
            return new

        return _WORD.sub(one, part)

    return map_template(template, noisy)


_VOICE_DROP = re.compile(r"[.,:;()\[\]!?¿¡\"«»“”—–→/|*#=+~>]")


def voice_template(template: str) -> str:
    """A dictation transcript: lower case, no written punctuation."""
    return map_template(template, lambda part: re.sub(r"\s+", " ", _VOICE_DROP.sub(" ", part.lower())))


def lower_template(template: str) -> str:
    """Lower-case a template's own words."""
    return map_template(template, str.lower)


def strip_accents(text: str, keep_enye: bool = False) -> str:
    """Remove accents as a hurried typist does ("Orión" -> "Orion"); ``keep_enye`` keeps "ñ"."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if keep_enye and ch == "\u0303" and out and out[-1] in "nN":
                out.append(ch)
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


_DOUBLE_DOT = re.compile(r"(?<!\.)\.\.(?!\.)")


def tidy(text: str) -> str:
    """Collapse the seams of assembled text: "S.A.." -> "S.A.", doubled spaces, spaces before punctuation."""
    text = _DOUBLE_DOT.sub(".", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.;:)])", r"\1", text)
    text = re.sub(r" *\n *", "\n", text)
    return text.strip()
