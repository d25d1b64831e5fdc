"""How often a copy draft would be right: of the tokens inside an answer's quotes, after each quote's first, how many
are the report's own token at the same place (its tokenisation lines up with the report's there, so drafting "the
report's next token" and verifying it in the same step would have been accepted).

The gold quote answers of the validation split, each quote tokenised as the answer writes it (between JSON quotes),
against the report's tokens (the default model's tokenizer; no model is run, so this is the tokenisation's upper
bound: a model that copies writes these tokens). Prints a markdown table.

    python bench/copy_drafts.py --n 150
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reportx.llamacpp import LlamaModel
from reportx.models import default_base_model, default_merged_model


def tokens_at(model: LlamaModel, text: str) -> list[tuple[int, int, int]]:
    """``text``'s tokens as (token, start byte, end byte)."""
    out, pos = [], 0
    for token in model.tokenize(text):
        piece = model.piece(token)
        out.append((token, pos, pos + len(piece)))
        pos += len(piece)
    return out


def quotes(spans: dict) -> list[tuple[int, int, str]]:
    """Every (start, end, quote) of a record's spans, blocker items' included."""
    found = []
    for key, value in spans.items():
        if value is None:
            continue
        if key == "blockers_today":
            found += [span for item in value for span in item.values() if span]
        else:
            found.append(value)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=150, help="validation reports (default 150)")
    parser.add_argument("--split", default="val", help="data/SPLIT.jsonl (default val)")
    args = parser.parse_args()
    model = LlamaModel.load(str(default_merged_model() or default_base_model()), None, n_ctx=512, n_threads=1, verbose=False)
    rows = [json.loads(line) for line in Path(f"data/{args.split}.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if "spans" in r][: args.n]
    total = first = lined_up = 0
    for row in rows:
        text = row["input"].strip()
        report = {start: token for token, start, _ in tokens_at(model, text)}
        for start, _, quote in quotes(json.loads(row["spans"])):
            size = len(quote.encode("utf-8")) + 2
            inside = [(t, a - 1) for t, a, b in tokens_at(model, f'"{quote}"') if a >= 1 and b <= size - 1]
            offset = len(text[:start].encode("utf-8"))
            for j, (token, at) in enumerate(inside):
                total += 1
                if j == 0:
                    first += 1
                elif report.get(offset + at) == token:
                    lined_up += 1
    later = total - first
    print(f"- {len(rows)} {args.split} reports, gold quote answers, the default model's tokenizer\n")
    print("| quote tokens | first of a quote | later | later = the report's token there | share |\n|---|---|---|---|---|")
    print(f"| {total} | {first} | {later} | {lined_up} | **{100 * lined_up / max(1, later):.1f}%** |")
    print(f"\nPer report: {total / len(rows):.1f} quote tokens, {lined_up / len(rows):.1f} of them draftable.")


if __name__ == "__main__":
    main()
