"""The body of a model for a split output head: the model GGUF with its vocabulary cut to the first few hundred
tokens (control and byte tokens), so that llama.cpp evaluates the transformer body and an output head of a few
hundred rows instead of the whole vocabulary.

Why: Gemma 3's output head is its 262,144-row token embedding (73% of the default merged model's bytes); llama.cpp
computes all of it for every token whose logits are asked for, while constrained extraction only ever chooses among
the tokens a quote of the report and the answer's JSON can be made of (a few thousand). :mod:`reportx.extract.head`
computes the logits of those tokens itself from the final hidden state, which llama.cpp returns with embeddings
on, and gives llama.cpp its input as embedding rows (a body's vocabulary has no ids for most of the report's tokens).

The body keeps every tensor byte for byte, except the token embedding (and an untied output matrix), of which it
keeps the first rows; tokenising still goes through the whole model's vocabulary. Only architectures whose input
scaling :mod:`reportx.extract.head` knows are split (:data:`INPUT_SCALE`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reportx.errors import ReportxError
from reportx.export.gguf_io import GGUFHeader, GGUFValue, add_metadata, atomic_gguf_writer, read_gguf_header

#: What llama.cpp multiplies token embeddings by before the first layer, per architecture: given embedding rows
#: instead of tokens, it skips that (for Gemma, "do not normalize weights for raw embeddings input"), so the split
#: head applies it itself. An architecture missing here is never split.
INPUT_SCALE = {"gemma3": lambda n_embd: float(np.sqrt(np.float32(n_embd)))}  # sqrtf, in float32
#: the tokenizer arrays the body's vocabulary cut applies to
_PER_TOKEN = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")
_BYTE_TOKEN = 6  # llama.cpp's LLAMA_TOKEN_TYPE_BYTE
HEAD_TENSORS = ("output.weight", "token_embd.weight")
#: ggml types of an output head the split reproduces llama.cpp's products for (Q8_0, F16)
HEAD_TYPES = (8, 1)


def splittable(header: GGUFHeader) -> str | None:
    """Why the model of ``header`` cannot be split (a sentence), or None when it can."""
    arch = header.architecture or ""
    if arch not in INPUT_SCALE:
        return f"architecture {arch or '?'} is not one the split head knows"
    if "token_embd.weight" not in header.tensors:
        return "no token embedding"
    head = header.tensors.get("output.weight") or header.tensors["token_embd.weight"]
    if head.ggml_type not in HEAD_TYPES:
        return "its output head is neither Q8_0 nor F16 (whose product rounding the split head reproduces)"
    return None


def body_vocabulary(header: GGUFHeader) -> int:
    """How many leading tokens the body keeps: every special token id the metadata names and every byte token of the
    leading run (llama.cpp looks the newline byte up when it loads a vocabulary)."""
    types = header.metadata["tokenizer.ggml.token_type"].value
    keep = 1 + max((int(v.value) for k, v in header.metadata.items()
                    if k.startswith("tokenizer.ggml.") and k.endswith("_token_id")), default=0)
    seen_bytes = False
    for i, kind in enumerate(types):
        if int(kind) == _BYTE_TOKEN:
            seen_bytes = True
            keep = max(keep, i + 1)
        elif seen_bytes:
            break
    return keep


def write_body_gguf(model: str | Path, out: str | Path) -> Path:
    """Write the body of ``model`` (see the module doc) to ``out``, atomically. ``ReportxError`` when the model
    cannot be split (:func:`splittable`)."""
    import gguf

    from reportx.export.merge import WRITER_KEYS, tensor_bytes

    header = read_gguf_header(model)
    why = splittable(header)
    if why:
        raise ReportxError(f"{model}: cannot split the output head: {why}")
    keep = body_vocabulary(header)
    with atomic_gguf_writer(Path(out), header.architecture or "") as writer:
        alignment = header.get("general.alignment")
        if alignment is not None:
            writer.add_custom_alignment(int(alignment))
        metadata: dict[str, GGUFValue] = {}
        for key, value in header.metadata.items():
            if key in WRITER_KEYS:
                continue
            if key in _PER_TOKEN:
                value = GGUFValue(value.type, value.value[:keep], value.sub_type)
            metadata[key] = value
        add_metadata(writer, metadata)
        for name, info in header.tensors.items():
            data = tensor_bytes(header, info)
            if name in HEAD_TENSORS:
                data = data[:keep]
            writer.add_tensor(name, data, raw_dtype=gguf.GGMLQuantizationType(info.ggml_type))
    return Path(out)
