"""A Hugging Face tokenizer (``tokenizer.json`` + ``tokenizer_config.json`` + chat template) as GGUF tokenizer
metadata, for the two kinds of tokenizer llama.cpp implements that the supported families use:

- **SentencePiece-style BPE** (TinyLlama / Llama 2, Gemma): a BPE model with byte fallback over text whose spaces
  become ``▁``. llama.cpp's ``llama`` tokenizer merges adjacent pieces by *score*, highest first; HF's merges
  come from those scores (transformers' SentencePiece converter orders them by the merged piece's score), so
  each merged token's score here is minus the rank of the merge that makes it, which gives llama.cpp the same
  merge order. ``<0xNN>`` tokens are byte tokens; ``tokenizer.ggml.add_space_prefix`` is whether the tokenizer
  prepends ``▁`` (a ``Prepend`` normaliser or a ``Metaspace`` pre-tokenizer that prepends).
- **byte-level BPE** (Qwen2.5): ``tokenizer.ggml.model`` "gpt2", the tokens as HF stores them, the merges, and
  ``tokenizer.ggml.pre`` naming llama.cpp's pre-tokenizer; the HF pre-tokenizer's split regex must be the one
  llama.cpp hard-codes for that name (checked, instead of llama.cpp's converter's hash of sample encodings).

One difference is llama.cpp's and stays: with a ``▁`` prefix (Llama), llama.cpp also prefixes the text after every
special token, as SentencePiece and HF's legacy Llama tokenizer do, where transformers 5's LlamaTokenizer prefixes
only the start of the text; plain text tokenizes the same.

The vocabulary is read from ``tokenizer.json`` rather than ``tokenizer.model``: every model of these families
ships it, transformers 5 saves only it, and reading SentencePiece's protobuf would add the sentencepiece
dependency. Special token ids, add-bos / add-eos flags, merges and the chat template come from gguf's
:class:`gguf.SpecialVocab`, as in llama.cpp's converter. Tokens past the tokenizer's end up to the model's
``vocab_size`` are written as unused ``[PADn]`` tokens (Qwen2.5 pads its embedding to a multiple of 128).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError

#: llama.cpp pre-tokenizer name -> the split regex of the HF tokenizers it stands for
PRE_TOKENIZER_REGEX = {
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}
#: end-of-turn markers of the families' chat templates (Gemma, ChatML / Qwen, Llama 3, Phi-3); llama.cpp stops
#: generation at ``tokenizer.ggml.eot_token_id``
EOT_TEXTS = ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>")
_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")
SPACE = "\u2581"  # ▁, SentencePiece's space


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """A normaliser / pre-tokenizer and the members of its ``Sequence``s."""
    if isinstance(node, dict):
        yield node
        for key in ("normalizers", "pretokenizers"):
            for child in node.get(key) or []:
                yield from _nodes(child)


def _looks_special(text: str) -> bool:
    """Added tokens some models do not flag special but that are control tokens (llama.cpp's converter's list)."""
    return (
        text in ("<pad>", "<mask>", "<2mass>", "[@BOS@]")
        or (text.startswith("<|") and text.endswith("|>"))
        or (text.startswith("<unused") and text.endswith(">"))
    )


def read_tokenizer_json(directory: Path) -> dict[str, Any]:
    path = directory / "tokenizer.json"
    if not path.is_file():
        raise ReportxError(
            f"{directory} has no tokenizer.json (GGUF export reads the fast tokenizer's file; save the tokenizer with "
            "transformers to write one)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportxError(f"cannot read {path}: {exc}") from None
    if (data.get("model") or {}).get("type") != "BPE":
        raise ReportxError(f"{path}: only BPE tokenizers are exported, not {(data.get('model') or {}).get('type')!r}")
    return data


def _merge_pairs(model: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for merge in model.get("merges") or []:
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        pairs.append((left, right))
    return pairs


def tokenizer_kind(data: dict[str, Any]) -> tuple[str, str]:
    """``(tokenizer.ggml.model, tokenizer.ggml.pre)`` for a parsed tokenizer.json, or a refusal."""
    model = data["model"]
    pre = list(_nodes(data.get("pre_tokenizer")))
    if model.get("byte_fallback"):
        return "llama", "default"
    if any(node.get("type") == "ByteLevel" for node in pre):
        regexes = [(n.get("pattern") or {}).get("Regex") for n in pre if n.get("type") == "Split"]
        for name, regex in PRE_TOKENIZER_REGEX.items():
            if regex in regexes:
                return "gpt2", name
        raise ReportxError(
            f"byte-level BPE tokenizer with split regex {regexes}: llama.cpp's pre-tokenizers written here are "
            f"{', '.join(PRE_TOKENIZER_REGEX)}"
        )
    raise ReportxError("the tokenizer is neither SentencePiece-style BPE (byte fallback) nor byte-level BPE")


def _adds_space_prefix(data: dict[str, Any]) -> bool:
    for node in _nodes(data.get("normalizer")):
        if node.get("type") == "Prepend" and node.get("prepend") == SPACE:
            return True
    for node in _nodes(data.get("pre_tokenizer")):
        if node.get("type") == "Metaspace" and (
            node.get("prepend_scheme") in ("first", "always") or node.get("add_prefix_space")
        ):
            return True
    return False


def vocabulary(data: dict[str, Any], vocab_size: int, kind: str) -> tuple[list[str], list[int], list[float] | None]:
    """``(tokens, token types, scores or None)`` padded to ``vocab_size``."""
    import gguf

    model = data["model"]
    by_id: dict[int, str] = {int(i): t for t, i in model["vocab"].items()}
    added = {int(a["id"]): a for a in data.get("added_tokens") or []}
    by_id.update({i: a["content"] for i, a in added.items()})
    if by_id and max(by_id) >= vocab_size:
        raise ReportxError(f"the tokenizer has token id {max(by_id)} but the model's vocab_size is {vocab_size}")
    unk = model.get("unk_token")
    scores: list[float] | None = None
    if kind == "llama":
        # merged token -> minus its merge's rank (see the module docstring); other tokens are never a merge result
        rank_score: dict[str, float] = {}
        for rank, (left, right) in enumerate(_merge_pairs(model)):
            rank_score.setdefault(left + right, -float(rank))
        floor = -float(len(rank_score) + 1)
        scores = []
    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        text = by_id.get(i)
        if text is None:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            if added[i].get("special") or _looks_special(text):
                types.append(gguf.TokenType.CONTROL)
            else:
                types.append(gguf.TokenType.USER_DEFINED)
                if kind == "llama":
                    text = text.replace(SPACE, " ")  # llama.cpp matches user-defined tokens in raw text
            tokens.append(text)
        else:
            if kind == "llama" and _BYTE_TOKEN.fullmatch(text):
                types.append(gguf.TokenType.BYTE)
            elif text == unk:
                types.append(gguf.TokenType.UNKNOWN)
            else:
                types.append(gguf.TokenType.NORMAL)
            tokens.append(text)
        if scores is not None:
            normal = text is not None and types[-1] == gguf.TokenType.NORMAL
            scores.append(rank_score.get(text, floor) if normal and text is not None else 0.0)
    return tokens, types, scores


def add_hf_tokenizer(writer: Any, directory: str | Path, vocab_size: int) -> dict[str, Any]:
    """Write the tokenizer of the HF model directory ``directory`` into a ``gguf.GGUFWriter`` for a model of
    ``vocab_size`` embedding rows. Returns a summary (model, pre, token count, special ids, flags) for logs."""
    import gguf

    directory = Path(directory)
    data = read_tokenizer_json(directory)
    kind, pre = tokenizer_kind(data)
    tokens, types, scores = vocabulary(data, vocab_size, kind)
    writer.add_tokenizer_model(kind)
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    if scores is not None:
        writer.add_token_scores(scores)
        writer.add_add_space_prefix(_adds_space_prefix(data))
    special = gguf.SpecialVocab(directory, load_merges=kind == "gpt2", n_vocab=vocab_size)
    if kind == "gpt2" and not special.merges:
        raise ReportxError(f"{directory / 'tokenizer.json'} has no merges")
    index = {token: i for i, token in enumerate(tokens)}
    for text in EOT_TEXTS:
        token_id = index.get(text)
        if token_id is not None and types[token_id] == gguf.TokenType.CONTROL:
            special._set_special_token("eot", token_id)  # the helper llama.cpp's converter uses for eot too
            break
    # HF adds BOS / EOS only when its post-processor or tokenizer_config says so; llama.cpp's defaults differ
    for typ in ("bos", "eos"):
        special.add_special_token.setdefault(typ, False)
    special.add_to_gguf(writer, quiet=True)
    return {
        "model": kind,
        "pre": pre,
        "tokens": len(tokens),
        "special": dict(special.special_token_ids),
        "add": dict(special.add_special_token),
        "chat_template": special.chat_template is not None,
    }
