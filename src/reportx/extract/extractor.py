"""``Extractor``: report text in, one validated record (or an explained error) out, with provenance.

>>> from reportx.extract import Extractor
>>> ex = Extractor()                       # embedded default model; finetuned mode if an adapter is bundled
>>> result = ex.extract("Proyecto Zafiro: hoy cerramos el piloto. Estado: verde.")
>>> result.record["status"], result.meta["attempts"]
('Verde', 1)

Per report: the prompt of the mode (:mod:`reportx.prompts`: few-shot or the fine-tuned prompt), greedy
decoding until the JSON object closes, lenient parsing (digit groups only), validation and normalisation by
the schema. If that fails, one retry with schema-constrained decoding (:mod:`reportx.extract.constrain`),
resuming from where the free answer went wrong. ``constrained=True`` constrains the first attempt. A report
that still fails, or that is empty or longer than the context, gives a result with ``error`` set and the
raw output kept: nothing is dropped.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args

from reportx import prompts
from reportx.errors import ReportxError
from reportx.extract.batched import BatchRunner
from reportx.extract.confidence import field_confidence, field_scores, load_calibration
from reportx.extract.config import DEFAULT_BATCH, ExtractConfig, Mode, PromptFormat
from reportx.extract.constrain import ConstrainedDecoder, SchemaNotSupported
from reportx.extract.engine import Engine, Generation, Job, batch_threads, free_json, run_decoding
from reportx.extract.inputs import InputItem, normalize_text, text_sha256
from reportx.extract.parse import loads_lenient
from reportx.llamacpp import SplitModel
from reportx.models import (
    answer_format,
    bundled_adapter,
    default_base_model,
    default_merged_model,
    file_id,
    is_default_merged_model,
)
from reportx.schema import RecordInvalid, ReportSchema, load_schema
from reportx.schema.foreign import record_keys, without_machine_text
from reportx.schema.quotes import answer_schema, drop_repeats, label_choices, locate, to_record

MODES: tuple[str, ...] = get_args(Mode)
PROMPT_FORMATS: tuple[str, ...] = get_args(PromptFormat)

#: Gemma's turn markup, for a Gemma GGUF that carries no chat template (the embedded base has none).
GEMMA_TURNS = "<start_of_turn>{role}\n{content}<end_of_turn>\n"


@dataclass
class ExtractionResult:
    """The outcome for one report: ``record`` (validated, schema key order) or ``error``, and provenance."""

    source: str | None
    sha256: str
    record: dict[str, Any] | None = None
    error: str | None = None
    raw_output: str | None = None
    model: str | None = None
    adapter: str | None = None
    mode: str | None = None
    constrained: bool = False
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    evaluated_tokens: int = 0  # prompt tokens actually evaluated (the rest came from the prefix cache)
    forced_tokens: int = 0  # tokens written by the constrainer rather than chosen by the model
    generations: list[Generation] = field(default_factory=list, repr=False)  # each attempt's decoding
    input_notes: list[str] = field(default_factory=list)  # how the input was read, e.g. bytes replaced
    spans: dict[str, Any] | None = None  # quote answers: where each value is in the text ([start, end, quote])
    notes: list[str] = field(default_factory=list)  # quote answers: quotes that did not normalise (made null)
    scores: dict[str, dict[str, float]] | None = None  # raw confidence scores per field (reportx.extract.confidence)
    confidence: dict[str, float] | None = None  # per field: calibrated P(right) (raw joint score if uncalibrated)
    review: list[str] | None = None  # with review_below: the fields whose confidence is under it

    @property
    def ok(self) -> bool:
        return self.record is not None

    @property
    def meta(self) -> dict[str, Any]:
        """The provenance every output record carries (JSONL ``_meta``, CSV / SQLite columns).

        ``input_notes`` is there only when the input has notes, so that other records stay as they were.
        """
        meta: dict[str, Any] = {
            "source": self.source,
            "sha256": self.sha256,
            "model": self.model,
            "adapter": self.adapter,
            "mode": self.mode,
            "constrained": self.constrained,
            "attempts": self.attempts,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
        }
        if self.input_notes:
            meta["input_notes"] = list(self.input_notes)
        if self.spans is not None:
            meta["spans"] = self.spans
        if self.notes:
            meta["notes"] = list(self.notes)
        if self.confidence is not None:
            meta["confidence"] = dict(self.confidence)
        if self.review is not None:
            meta["review"] = list(self.review)
        return meta

    def to_record(self) -> dict[str, Any]:
        """The output line: the record's keys in schema order, then ``_meta``."""
        if self.record is None:
            raise ValueError("an error result has no record; use to_error()")
        return {**self.record, "_meta": self.meta}

    def to_error(self) -> dict[str, Any]:
        """The error line: ``source``, ``sha256``, ``error``, ``raw_output``, then the rest of the provenance."""
        meta = self.meta
        return {
            "source": self.source,
            "sha256": self.sha256,
            "error": self.error,
            "raw_output": self.raw_output,
            **{k: v for k, v in meta.items() if k not in ("source", "sha256")},
        }


@dataclass(frozen=True)
class Checked:
    """One answer checked: its ``record`` (and, for quote answers, ``spans`` and ``notes``) or the ``reason``."""

    record: dict[str, Any] | None = None
    reason: str | None = None
    spans: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelSetup:
    """Which model files and mode an extraction uses, resolved from the options before anything is loaded."""

    model_path: Path
    adapter_path: Path | None
    mode: str
    notices: tuple[str, ...] = ()
    #: the model has a fine-tuned adapter merged into its weights (--merged, or the default merged model)
    merged: bool = False

    @property
    def made_by(self) -> tuple[str, str | None, str]:
        """(model id, adapter id, mode) as records' ``_meta`` name them: what resume compares."""
        adapter_id = file_id(self.adapter_path) if self.adapter_path is not None else None
        return file_id(self.model_path), adapter_id, self.mode

    @property
    def fine_tune(self) -> Path | None:
        """The file that carries the fine-tune's answer format and, beside it, its confidence calibration: the
        adapter, else a merged model, except that the default merged model's are the bundled adapter's."""
        if self.adapter_path is not None:
            return self.adapter_path
        if not self.merged:
            return None
        return bundled_adapter() if is_default_merged_model(self.model_path) else self.model_path


def resolve_setup(model: str | Path | None = None, adapter: str | Path | None = None, mode: str | None = None, *,
                  merged: bool = False, engine: Engine | None = None) -> ModelSetup:
    """Resolve the model, adapter and mode as :class:`Extractor` does (the one place for the defaults): with no
    model and no adapter, finetuned mode loads the default base with the bundled adapter merged in
    (:func:`reportx.models.default_merged_model`) and few-shot mode the default base; a ``model`` without adapter
    gets the bundled adapter applied unless few-shot or ``merged``; finetuned mode when there is a fine-tune.
    ``engine``: an already loaded model, which brings its own files."""
    if mode is not None and mode not in MODES:
        raise ReportxError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    notices: list[str] = []
    if engine is not None:
        model, adapter = Path(engine.model_path), engine.adapter_path
        merged = merged or is_default_merged_model(model)
    if merged:
        if mode == "fewshot" or adapter is not None:
            raise ReportxError("a merged model is used in finetuned mode and carries its adapter: pass no adapter")
        mode = "finetuned"
    elif model is None and adapter is None and mode != "fewshot":
        default = default_merged_model()
        if default is not None:
            return ModelSetup(default, None, "finetuned", (), merged=True)
    elif adapter is None and mode != "fewshot" and engine is None:
        adapter = bundled_adapter()
    if mode is None:
        mode = "finetuned" if adapter is not None else "fewshot"
        if mode == "fewshot":
            notices.append(
                "no fine-tuned adapter given or bundled yet: using few-shot mode (base model + worked "
                "examples); pass --adapter PATH.gguf for finetuned mode"
            )
    elif mode == "finetuned" and adapter is None and not merged:
        raise ReportxError("finetuned mode needs an adapter: pass --adapter PATH.gguf (none is bundled yet)")
    model_path = Path(model) if model is not None else default_base_model()
    return ModelSetup(model_path, Path(adapter) if adapter is not None else None, mode, tuple(notices), merged)


def split_head(setup: ModelSetup, config: ExtractConfig) -> bool:
    """Whether extraction splits the model's output head (:mod:`reportx.extract.head`): a fine-tuned model that
    answers quotes (whose tokens are the report's), with no run-time adapter, of an architecture the split knows,
    unless ``config.full_head``."""
    if config.full_head or setup.mode != "finetuned" or setup.adapter_path is not None:
        return False
    if answer_format(setup.fine_tune) != "quotes":
        return False
    from reportx.export.gguf_io import read_gguf_header
    from reportx.export.split import splittable

    return splittable(read_gguf_header(setup.model_path, keep=lambda key: not key.startswith("tokenizer."))) is None


def coerce_schema(schema: Any) -> ReportSchema:
    if schema is None or isinstance(schema, (str, Path)):
        return load_schema(schema)
    if isinstance(schema, ReportSchema):
        return schema
    if isinstance(schema, dict):
        return ReportSchema.from_json_schema(schema)
    if isinstance(schema, type):
        from pydantic import BaseModel

        if issubclass(schema, BaseModel):
            return ReportSchema.from_model(schema)
    raise ReportxError(f"not a schema: {schema!r}")


class Extractor:
    """Extract records from report texts with one GGUF model, loaded once.

    Args:
        model: base GGUF path; None for the embedded default (assembled into the user cache on first use).
        adapter: GGUF LoRA adapter path; None for the bundled adapter in finetuned mode.
        mode: "fewshot" or "finetuned"; None picks finetuned when an adapter is given or bundled, else fewshot
            (and says so in ``notices``).
        constrained: constrain decoding by the schema from the first attempt (else only on the retry).
        shots: worked examples in the few-shot prompt (0 to 4 built in; ``examples`` for your own).
        schema: None (built-in), a ``ReportSchema``, a Pydantic model class, a JSON Schema dict, or a spec
            string as ``reportx --schema`` takes.
        examples: (text, record) pairs for the few-shot prompt, for a user schema.
        prompt_format: few-shot prompt as plain completion ("completion"), with the model's chat template
            ("chat"), or "auto": the chat template when the GGUF has one, else completion.
        n_ctx, n_threads, seed: llama.cpp context size, threads (default: the CPUs available), seed.
        max_tokens: the most tokens an answer may take (default 256).
        engine: an already loaded :class:`Engine` to share (model and adapter then come from it).
        merged: the model has a fine-tuned adapter merged into its weights (``reportx export --merge``): finetuned
            mode with no adapter (the bundled one belongs to the default base and is not applied).
        retry: "constrained" (an invalid free answer gets one constrained retry) or "none".
        batch: reports :meth:`extract_many` decodes at once (:mod:`reportx.extract.batched`, default 16); 1: one at
            a time, where a record never depends on the other reports.
        config: all of the above but ``schema``, ``examples`` and ``engine`` as one
            :class:`~reportx.extract.config.ExtractConfig` (then the keyword arguments are not used); see
            :meth:`from_config`. Either way the options are validated once, by ExtractConfig.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        adapter: str | Path | None = None,
        mode: str | None = None,
        constrained: bool = False,
        shots: int = 3,
        schema: Any = None,
        n_ctx: int = 4096,
        seed: int = 0,
        *,
        n_threads: int | None = None,
        max_tokens: int = 256,
        examples: list[tuple[str, dict]] | None = None,
        prompt_format: str = "auto",
        engine: Engine | None = None,
        merged: bool = False,
        retry: str = "constrained",
        batch: int = DEFAULT_BATCH,
        config: ExtractConfig | None = None,
    ) -> None:
        if config is None:
            config = ExtractConfig.make(
                model=None if model is None else str(model), adapter=None if adapter is None else str(adapter),
                mode=mode, merged=merged, constrained=constrained, retry=retry, shots=shots, n_ctx=n_ctx,
                threads=n_threads, seed=seed, max_tokens=max_tokens, prompt_format=prompt_format, batch=batch,
            )
        self.config = config
        self.notices: list[str] = []
        self.schema = coerce_schema(schema if schema is not None else config.schema_spec)
        self._keys = record_keys(self.schema.json_schema)  # a sentence naming one is addressed to a machine
        setup = resolve_setup(config.model, config.adapter, config.mode, merged=config.merged, engine=engine)
        self.notices.extend(setup.notices)
        self.mode = mode = setup.mode
        self.constrained = constrained = config.constrained
        self.shots = shots = config.shots
        self.examples = examples
        self.max_tokens = max_tokens = config.max_tokens
        if engine is None:
            engine = Engine(setup.model_path, setup.adapter_path, n_ctx=config.n_ctx, n_threads=config.threads,
                            seed=config.seed, split_head=split_head(setup, config))
        self.engine = engine
        self.model_id, self.adapter_id = setup.made_by[:2]
        self.calibration = load_calibration(setup.fine_tune)
        if self.calibration is None and config.review_below is not None:
            self.notices.append("no confidence calibration beside the adapter: --review-below compares raw scores")
        self.prompt_format = self._resolve_format(config.prompt_format)
        if mode == "fewshot" and shots > 0 and examples is None and not prompts.is_builtin_layout(self.schema):
            self.notices.append(
                "the built-in worked examples are for the built-in schema: using a zero-shot prompt for "
                f"{self.schema.name} (pass examples for a few-shot one)"
            )
        elif mode == "fewshot":
            available = len(examples) if examples is not None else len(prompts.FEWSHOT_EXAMPLES)
            if shots > available:
                self.notices.append(f"--shots {shots}: only {available} worked examples exist, using {available}")
        # A fine-tuned model trained on quote answers says so in its GGUF metadata (reportx.models.answer_format):
        # its answers are quotes of the report, grounded (spans) and normalised by the schema's types.
        self.answer = answer_format(setup.fine_tune) if mode == "finetuned" else "values"
        decoded = answer_schema(self.schema) if self.answer == "quotes" else self.schema.json_schema
        if isinstance(engine.model, SplitModel):  # the answer's keys and labels are candidates of the split head
            engine.model.head.allow(json.dumps(decoded, ensure_ascii=False))
        self._decoder: ConstrainedDecoder | None
        try:
            choices = label_choices(self.schema) if self.answer == "quotes" else None
            self._decoder = ConstrainedDecoder.for_schema(engine, decoded, max_tokens=max_tokens, choices=choices)
        except SchemaNotSupported as exc:
            self._decoder = None
            self.notices.append(f"constrained decoding is not available for this schema: {exc}")
            if constrained:
                raise ReportxError(f"--constrained: {exc}") from None
        self._prefix_text: str | None = None
        self._prefix_tokens: list[int] = []

    @classmethod
    def from_config(cls, config: ExtractConfig, *, schema: Any = None, examples: list[tuple[str, dict]] | None = None,
                    engine: Engine | None = None) -> Extractor:
        """An Extractor for ``config`` (``schema``: an object instead of ``config.schema_spec``)."""
        return cls(config=config, schema=schema, examples=examples, engine=engine)

    # Prompts ------------------------------------------------------------------------------------------------

    def _resolve_format(self, requested: str) -> str:
        if self.mode != "fewshot":
            return "completion"  # the adapter is trained on prompts.finetuned_prompt
        template = self.engine.metadata.get("tokenizer.chat_template")
        if requested == "auto":
            return "chat" if template else "completion"
        if requested == "chat" and not template and self.engine.metadata.get("general.architecture") not in (
            "gemma", "gemma2", "gemma3"
        ):
            raise ReportxError("the model has no chat template: use the completion prompt format")
        return requested

    def _render_chat(self, messages: list[dict[str, str]]) -> str:
        template = self.engine.metadata.get("tokenizer.chat_template")
        if not template:  # a Gemma GGUF without template: Gemma's turn markup ("assistant" is "model")
            body = "".join(
                GEMMA_TURNS.format(role="model" if m["role"] == "assistant" else m["role"], content=m["content"])
                for m in messages
            )
            return body + "<start_of_turn>model\n"
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        bos = self.engine.token_text(self.engine.bos) if self.engine.bos >= 0 else ""
        eos = self.engine.token_text(self.engine.eos) if self.engine.eos >= 0 else ""
        formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
        # llama-cpp-python types messages as its own TypedDicts; plain role/content dicts are what they hold.
        rendered = formatter(messages=cast(Any, messages)).prompt
        if bos and rendered.startswith(bos):
            rendered = rendered[len(bos):]  # the tokenizer adds BOS itself
        return rendered

    def prompt_parts(self, text: str) -> tuple[str, str]:
        """(prefix, suffix) of the prompt for ``text``: the prefix is the same for every report."""
        if self.mode == "finetuned":
            return prompts.finetuned_parts(text, self.schema)
        template = self._render_chat if self.prompt_format == "chat" else None
        return prompts.fewshot_parts(text, self.schema, self.shots, self.examples, chat_template=template)

    def prompt_tokens(self, text: str) -> list[int]:
        """The prompt's tokens: the prefix tokenised once per extractor, then the report part.

        The report is tokenised as plain text (never as control tokens); only a chat template's own markup
        around it is parsed for special tokens.
        """
        prefix, suffix = self.prompt_parts(text)
        chat = self.prompt_format == "chat"
        if prefix != self._prefix_text:
            self._prefix_text = prefix
            self._prefix_tokens = self.engine.tokenize(prefix, bos=True, special=chat)
        report = text.strip()
        if suffix.startswith(report):
            body, tail = report, suffix[len(report):]
        else:  # pragma: no cover - both prompt builders put the report first in the suffix
            body, tail = suffix, ""
        return self._prefix_tokens + self.engine.tokenize(body) + (self.engine.tokenize(tail, special=chat) if tail else [])

    # Extraction ---------------------------------------------------------------------------------------------

    def _result(self, source: str | None, sha: str) -> ExtractionResult:
        return ExtractionResult(
            source=source, sha256=sha, model=self.model_id, adapter=self.adapter_id, mode=self.mode,
            constrained=self.constrained,
        )

    def extract(self, text: str, source: str | None = None) -> ExtractionResult:
        """Extract one report. Never raises for the report's content: problems are in ``result.error``."""
        return run_decoding(self.engine, self.extraction(text, source))

    def extraction(self, text: str, source: str | None = None) -> Job[ExtractionResult]:
        """:meth:`extract` as a coroutine (see :mod:`reportx.extract.engine`): sequential extraction runs it on the
        engine's one sequence, batched extraction (:mod:`reportx.extract.batched`) many of them at once."""
        start = time.perf_counter()
        text = normalize_text(text)
        result = self._result(source, text_sha256(text))
        try:
            yield from self._extract_into(result, text)
        except ReportxError:
            raise
        except Exception as exc:  # a failure on one report must not lose the batch
            result.record = None
            result.error = f"internal error: {type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - start
        return result

    def _extract_into(self, result: ExtractionResult, text: str) -> Job[None]:
        if not text.strip():
            result.error = "empty report"
            return
        # The model never reads text addressed to a machine (reportx.schema.foreign); quotes and offsets still
        # come from the text as read.
        tokens = self.prompt_tokens(without_machine_text(text, self._keys))
        result.prompt_tokens = len(tokens)
        limit = self.engine.n_ctx - self.max_tokens - 1
        if len(tokens) > limit:
            result.error = (
                f"report is longer than the context ({len(tokens)} prompt tokens, at most {limit} with "
                f"n_ctx {self.engine.n_ctx} and {self.max_tokens} for the answer)"
            )
            return
        checkpoints = [len(self._prefix_tokens)]  # the shared prefix: cached, and always its own batch
        replay: list[int] | None = None
        reason = None
        attempts = [True] if self.constrained else [False, True] if self.config.retry == "constrained" else [False]
        if self._decoder is None:
            attempts = [False]
        # Quote answers copy from the report as the prompt holds it; their offsets are into ``text`` as read.
        source = text.strip() if self.answer == "quotes" else None
        grounding = text if self.answer == "quotes" else None
        for constrained in attempts:
            if constrained and self._decoder is not None:
                gen = yield from self._decoder.decoding(tokens, replay=replay, checkpoints=checkpoints, source=source)
            else:
                monitor = self._decoder.monitor(source=source) if self._decoder is not None else None
                gen = yield from free_json(self.engine, tokens, self.max_tokens, monitor=monitor, checkpoints=checkpoints)
            self._account(result, gen, constrained)
            checked = self._validate(gen, grounding)
            reason = checked.reason
            if checked.record is not None:
                result.record, result.error = checked.record, None
                result.spans, result.notes = checked.spans, checked.notes
                self._rate(result)
                return
            replay = gen.tokens
        result.error = f"invalid output after {result.attempts} attempt{'s' if result.attempts > 1 else ''}: {reason}"

    def _rate(self, result: ExtractionResult) -> None:
        """Per-field confidence of the accepted answer (the last generation; a constrained retry's replayed
        tokens take their probabilities from the free answer they came from) and the fields to review."""
        gen = result.generations[-1]
        chosen = list(gen.chosen)
        if gen.replayed_tokens and len(result.generations) > 1:
            chosen = list(result.generations[-2].chosen[:gen.replayed_tokens]) + chosen
        result.scores = field_scores(gen.text, chosen)
        keys = list(result.record or {})
        scores = {k: result.scores[k] for k in keys if k in result.scores}
        result.confidence = field_confidence(scores, self.calibration)
        if self.config.review_below is not None:
            result.review = [k for k, p in result.confidence.items() if p < self.config.review_below]

    def _account(self, result: ExtractionResult, gen: Generation, constrained: bool) -> None:
        result.attempts += 1
        result.generations.append(gen)
        result.constrained = result.constrained or constrained
        result.completion_tokens += gen.completion_tokens
        result.evaluated_tokens += gen.evaluated_tokens
        result.forced_tokens += gen.forced_tokens
        result.raw_output = gen.text

    def _validate(self, gen: Generation, source: str | None = None) -> Checked:
        """The record of an answer, or why there is none. With quote answers (``source``: the report's text as
        read) every quote must be in the report: where each one is comes back as ``spans`` (offsets into
        ``source``), quotes that did not normalise and list items dropped as repeats as ``notes``."""
        if gen.left_schema:
            return Checked(reason=f"the answer left the schema after {gen.text[-40:]!r}")
        if not gen.finished:
            return Checked(reason=f"the answer did not close its JSON object within {self.max_tokens} tokens")
        try:
            data = loads_lenient(gen.text)
        except ValueError as exc:
            return Checked(reason=f"not JSON: {exc}")
        except RecursionError:  # json's decoder recurses once per nesting level
            return Checked(reason="not JSON: nested too deeply")
        try:
            if source is None:
                return Checked(record=self.schema.validate(data))
            if not isinstance(data, dict):
                return Checked(reason=f"expected a JSON object, got {type(data).__name__}")
            data, repeats = drop_repeats(source, data, self.schema)
            spans, ungrounded = locate(source, data, self.schema)
            if ungrounded:
                return Checked(reason="; ".join(ungrounded))
            record, notes = to_record(self.schema, data)
            return Checked(record=record, spans=spans, notes=repeats + notes)
        except RecordInvalid as exc:
            return Checked(reason=str(exc))
        except (TypeError, ValueError) as exc:  # a validator that raised outside pydantic's ValidationError
            return Checked(reason=f"{type(exc).__name__}: {exc}")

    def extract_item(self, item: InputItem) -> ExtractionResult:
        """Extract an :class:`InputItem` from :func:`reportx.extract.inputs.discover` (unreadable ones too)."""
        return run_decoding(self.engine, self.item_extraction(item))

    def item_extraction(self, item: InputItem) -> Job[ExtractionResult]:
        """:meth:`extract_item` as a coroutine."""
        if item.text is None:
            result = self._result(item.source, item.sha256)
            result.constrained = False
            result.error = item.error or "no text"
        else:
            result = yield from self.extraction(item.text, source=item.source)
        result.input_notes = list(item.notes)
        return result

    def extract_many(self, items: Iterable[str | tuple[str | None, str] | InputItem]) -> Iterator[ExtractionResult]:
        """Extract reports lazily, in input order: texts, (source, text) pairs or :class:`InputItem` objects.
        With ``batch`` > 1 (:class:`~reportx.extract.config.ExtractConfig`), that many reports are decoded at once
        (:mod:`reportx.extract.batched`)."""
        if self.config.batch <= 1:
            for item in items:
                yield run_decoding(self.engine, self._job(item))
            return
        threads = self.config.threads or batch_threads()
        # A stream's answer reserve: the built-in schema's answers take ~85 cells (~45 chosen and ~40 forced tokens);
        # a longer one is extracted again on the engine's own context, so the reserve sets memory, not records.
        runner = BatchRunner(self.engine, self.config.batch, threads, reserve=self.max_tokens // 2)
        try:
            yield from runner.run(functools.partial(self._job, item) for item in items)
        finally:
            runner.close()

    def _job(self, item: str | tuple[str | None, str] | InputItem) -> Job[ExtractionResult]:
        if isinstance(item, InputItem):
            return self.item_extraction(item)
        if isinstance(item, tuple):
            return self.extraction(item[1], source=item[0])
        return self.extraction(item, source=None)
