"""The one definition of every prompt reportx uses: train, synth, extract and eval all import from here.

The fine-tuned prompt is short on purpose: the adapter has learnt the format, so each report pays for a
few dozen prompt tokens instead of a long few-shot prefix.
"""

from __future__ import annotations

from reportx.schema.loader import ReportSchema


def instruction(schema: ReportSchema) -> str:
    """The task sentence, naming the record's keys in order."""
    return "Extract this daily project report as one JSON object with the keys " + ", ".join(schema.keys) + "."


def finetuned_prompt(text: str, schema: ReportSchema) -> str:
    """The completion prompt a fine-tuned adapter is trained on and queried with; the answer is the JSON record."""
    return f"{instruction(schema)}\n\nReport:\n{text.strip()}\n\nJSON:\n"


def chat_messages(text: str, schema: ReportSchema, answer: str | None = None) -> list[dict[str, str]]:
    """The same task as chat messages, for tools that fine-tune chat models from ``messages`` JSONL."""
    messages = [{"role": "user", "content": f"{instruction(schema)}\n\nReport:\n{text.strip()}"}]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages
