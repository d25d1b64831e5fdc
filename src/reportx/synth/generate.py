"""Synthesize report / gold pairs and write them as fine-tuning JSONL with a stats file.

Each example draws its language (about 70% Spanish), then its split (70% train, 12% val, 18% test), then a
family uniformly among that language's families of that split: the family fixes the split (see
``families.STYLE_SPLITS``), so the split shares hold whatever the number of families per split. Example ``i``
of a seed uses its own ``random.Random`` seeded with a string (hashed with SHA-512 by ``random``, not with the
salted ``hash()``), so the output is byte-identical across runs and ``synthesize(300, s)`` is a prefix of
``synthesize(2000, s)``. With ``inject_share`` > 0 (off by default), that share of the training reports gets a
snippet that tries to steer the record (an injected instruction, fake prompt markup, pasted JSON) with the gold
left as it was; the draw uses a random source of its own, so val, test and the other training reports are the
same as without it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reportx.prompts import chat_messages, instruction
from reportx.schema import builtin_schema
from reportx.schema.conventions import STATUS_WORDS, fold
from reportx.synth.families import FAMILIES, Family, render
from reportx.synth.injection import inject
from reportx.synth.quotes import Unquotable, quote_form
from reportx.synth.records import Record, make_record

SPLITS: tuple[str, ...] = ("train", "val", "test")
SPLIT_WEIGHTS: tuple[float, ...] = (0.70, 0.12, 0.18)
SPANISH_SHARE = 0.70
NULLABLE_FIELDS: tuple[str, ...] = ("status", "client", "budget_used_eur", "key_milestone_completed", "next_step")
_MAX_ATTEMPTS = 20

_STATUS_OF = {fold(w): status for status, words in STATUS_WORDS.items() for w in words}
_STATUS_RE = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted(_STATUS_OF, key=len, reverse=True)) + r")(?![a-z0-9])")


@dataclass(frozen=True)
class Example:
    """One synthetic report and its gold record (validated, keys in schema order).

    ``distractor_tickets`` lists the ticket ids the text mentions that are not blockers (closed without
    impact, or planned for the next step); it is for checks and is not written to the dataset.
    ``injection`` is the snippet inserted into a training report to teach that report text is data
    (``synth.injection``; empty for most reports), ``injection_kind`` its kind, ``rendered`` the text before
    it (empty when there is none); the gold ignores it. ``quotes`` is the gold's quote form (the text that
    states each field, :mod:`reportx.synth.quotes`) and ``spans`` its ``[start, end, quote]`` offsets into
    ``text``; both None, with the reason in ``unquoted``, when a field's surface could not be found.
    """

    id: str
    lang: str
    family: str
    split: str
    text: str
    gold: dict
    distractor_tickets: tuple[str, ...] = ()
    injection: str = ""
    injection_kind: str = ""
    rendered: str = ""
    quotes: dict | None = None
    spans: dict | None = None
    unquoted: str = ""

    @property
    def clean_text(self) -> str:
        """The report without its injected snippet: the text the gold was rendered from."""
        return self.rendered or self.text


def stated_statuses(text: str) -> set[str]:
    """The status values the text's wordings name (folded, word boundaries): {} when none is stated."""
    return {_STATUS_OF[m.group(1)] for m in _STATUS_RE.finditer(fold(text))}


def _problem(text: str, gold: dict, rec: Record) -> str | None:
    """Why a rendered text is not faithful to its gold (a cheap guard; tests/synth checks much more)."""
    expected = {gold["status"]} if gold["status"] else set()
    if stated_statuses(text) != expected:
        return "status wording"
    folded = fold(text)
    if fold(gold["project_name"]) not in folded:
        return "project name"
    if gold["client"] and fold(gold["client"]) not in folded:
        return "client"
    tickets = [b["ticket_id"] for b in gold["blockers_today"] if b["ticket_id"]] + list(rec.closed_tickets)
    if any(t not in text for t in tickets):
        return "ticket"
    return None


def _families_by(lang: str, split: str) -> list[Family]:
    return [f for f in FAMILIES if f.lang == lang and f.split == split]


def synthesize(n: int, seed: int = 0, inject_share: float = 0.0, rich: bool = False) -> list[Example]:
    """``n`` examples, deterministic for ``seed``; every gold record is validated by the built-in schema.
    ``inject_share``: share of training reports with an injected snippet (``synth.injection``), gold unchanged.
    ``rich``: training reports draw more blockers, more of them without a ticket, and also use wordings, durations
    and list markers that val and test never do (``Record.rich``); val and test are the same either way."""
    if n < 0:
        raise ValueError("n must be >= 0")
    schema = builtin_schema()
    pools = {(lang, split): _families_by(lang, split) for lang in ("es", "en") for split in SPLITS}
    examples = []
    for i in range(n):
        rng = random.Random(f"reportx-synth:{seed}:{i}")
        lang = "es" if rng.random() < SPANISH_SHARE else "en"
        split = rng.choices(SPLITS, weights=SPLIT_WEIGHTS)[0]
        family = rng.choice(pools[(lang, split)])
        for _ in range(_MAX_ATTEMPTS):
            rec = make_record(rng, lang, rich=rich and split == "train")
            text, raw = render(rng, family, rec)
            if _problem(text, raw, rec) is None:
                break
        else:  # pragma: no cover - a template bug, caught by the tests long before a user sees it
            raise RuntimeError(f"could not render a faithful {family.name} report: {_problem(text, raw, rec)}")
        gold = schema.validate(raw)
        distractors = rec.closed_tickets + ((rec.next_ticket,) if rec.next_ticket else ())
        snippet = kind = rendered = ""
        if split == "train" and inject_share > 0:
            # Its own random source, so that the reports left clean are the same as without injections.
            inject_rng = random.Random(f"reportx-synth-inject:{seed}:{i}")
            if inject_rng.random() < inject_share:
                rendered = text
                text, snippet, kind = inject(inject_rng, text, lang)
        quotes = spans = None
        unquoted = ""
        try:
            quotes, spans = quote_form(text, gold, rec, schema)
        except Unquotable as exc:
            unquoted = str(exc)
        examples.append(Example(id=f"s{seed}-{i:06d}", lang=lang, family=family.name, split=split, text=text,
                                gold=gold, distractor_tickets=distractors, injection=snippet, injection_kind=kind,
                                rendered=rendered, quotes=quotes, spans=spans, unquoted=unquoted))
    return examples


def _seed_of(examples: list[Example]) -> int | None:
    seeds = {e.id.split("-", 1)[0] for e in examples}
    if len(seeds) == 1:
        only = seeds.pop()
        if re.fullmatch(r"s-?\d+", only):
            return int(only[1:])
    return None


def compute_stats(examples: list[Example], seed: int | None = None) -> dict:
    """Counts per split, language and family; null count and rate per nullable field; blocker counts."""
    n = len(examples)

    def rate(count: int) -> float:
        return round(count / n, 4) if n else 0.0

    splits = {s: sum(e.split == s for e in examples) for s in SPLITS}
    langs = ("es", "en")
    by_split_lang = {s: {lang: sum(e.split == s and e.lang == lang for e in examples) for lang in langs} for s in SPLITS}
    families = {f.name: {"split": f.split, "count": sum(e.family == f.name for e in examples)} for f in FAMILIES}
    nulls = {}
    for key in NULLABLE_FIELDS:
        count = sum(e.gold[key] is None for e in examples)
        nulls[key] = {"count": count, "rate": rate(count)}
    blockers = [b for e in examples for b in e.gold["blockers_today"]]
    no_blockers = sum(not e.gold["blockers_today"] for e in examples)
    kinds = sorted({e.injection_kind for e in examples if e.injection_kind})
    return {
        "seed": seed if seed is not None else _seed_of(examples),
        "n": n,
        "splits": splits,
        "splits_by_language": by_split_lang,
        "languages": {lang: sum(e.lang == lang for e in examples) for lang in ("es", "en")},
        "families": families,
        "nulls": nulls,
        "no_blockers": {"count": no_blockers, "rate": rate(no_blockers)},
        "blockers": {
            "total": len(blockers),
            "without_ticket": sum(b["ticket_id"] is None for b in blockers),
            "without_delay": sum(b["delay_hours"] is None for b in blockers),
        },
        "injected": {
            "count": sum(bool(e.injection) for e in examples),
            "kinds": {k: sum(e.injection_kind == k for e in examples) for k in kinds},
        },
    }


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_dataset(examples: list[Example], out_dir: str | Path, seed: int | None = None) -> dict:
    """Write {train,val,test}.jsonl (instruction/input/output), {train,val,test}.messages.jsonl (chat
    ``messages``), stats.json and a dataset card (README.md, :func:`dataset_card`) into ``out_dir``; return the
    stats. ``seed`` defaults to the one in the ids."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    schema = builtin_schema()
    task = instruction(schema)
    for split in SPLITS:
        part = [e for e in examples if e.split == split]
        answers = [schema.dumps(e.gold) for e in part]
        _write_jsonl(out / f"{split}.jsonl", (
            {"id": e.id, "lang": e.lang, "family": e.family, "instruction": task, "input": e.text, "output": a,
             **({"quotes": schema.dumps(e.quotes), "spans": json.dumps(e.spans, ensure_ascii=False)}
                if e.quotes is not None else {}),
             **({"injection": e.injection_kind} if e.injection_kind else {})}
            for e, a in zip(part, answers, strict=True)
        ))
        _write_jsonl(out / f"{split}.messages.jsonl", (
            {"id": e.id, "lang": e.lang, "family": e.family, "messages": chat_messages(e.text, schema, answer=a)}
            for e, a in zip(part, answers, strict=True)
        ))
    stats = compute_stats(examples, seed)
    (out / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "README.md").write_text(dataset_card(stats), encoding="utf-8", newline="\n")
    return stats


#: Split names as Hugging Face datasets calls them (val -> validation).
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}


def dataset_card(stats: dict) -> str:
    """A Hugging Face dataset card (README.md) for a written folder: its YAML ``configs`` map the files to the
    train / validation / test splits, so ``datasets.load_dataset(FOLDER)`` loads the instruction form and
    ``load_dataset(FOLDER, "messages")`` the chat form. (Without the card, datasets' file-name rules would put
    train.jsonl and train.messages.jsonl into one split.)"""
    lines = ["---", "language:", "- es", "- en", "task_categories:", "- text-generation", "configs:"]
    for config, suffix in (("default", ".jsonl"), ("messages", ".messages.jsonl")):
        lines += [f"- config_name: {config}", "  data_files:"]
        lines += [f"  - split: {HF_SPLITS[s]}\n    path: {s}{suffix}" for s in SPLITS]
    splits = ", ".join(f"{HF_SPLITS[s]} {stats['splits'].get(s, 0)}" for s in SPLITS)
    languages = ", ".join(f"{lang} {count}" for lang, count in sorted(stats["languages"].items()))
    lines += [
        "---", "", "# Synthetic daily project reports and their JSON records", "",
        f"Written by `reportx synth` (seed {stats['seed']}): {stats['n']} report -> record pairs ({splits}; "
        f"{languages}). The split is by template family, so validation and test hold writing styles that train "
        "never shows. Every text and record is synthetic.", "",
        "- `SPLIT.jsonl`: `id`, `lang`, `family`, `instruction`, `input` (the report), `output` (the gold record, "
        "compact JSON), `quotes` (the same record as the report's own words: the text that states each field) and "
        "`spans` (`[start, end, quote]` offsets of each quote in `input`), both JSON text, absent on the few "
        "records whose quote form could not be found.",
        "- `SPLIT.messages.jsonl`: `id`, `lang`, `family`, `messages` (the same pair as a chat).",
        "- `stats.json`: counts by language, family, split, blockers and null fields.", "",
        "```python", "from datasets import load_dataset", "", 'pairs = load_dataset("PATH/TO/THIS/FOLDER")',
        'chats = load_dataset("PATH/TO/THIS/FOLDER", "messages")', "```", "",
    ]
    return "\n".join(lines)
