"""Interactive generation: one prompt, streamed token by token, with sampling settings and stops.

Evaluation decodes batches greedily (`evaluation/generation.py`); the playground and the
OpenAI-compatible endpoints answer one prompt at a time and want text as it comes. This module
runs transformers' `generate` (so every adapter kind works, prompt-learning ones included)
in a thread, receives its tokens through a streamer, and yields text pieces:

- temperature 0 is greedy decoding; above it, sampling with `temperature` and `top_p`;
- generation ends at the model's EOS tokens, at `max_tokens`, at the end of the prompt
  template's response (the next "### Instruction" / "### Response" / "### Input" header of the
  `alpaca` and `llm-adapters` templates, or a line opening any other "### " section) and at any of the caller's stop strings. The stop text
  itself is never returned; text that may still turn into a stop is held back until it cannot,
  so the streamed pieces always join to the non-streamed answer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

MAX_STOPS = 4
MAX_TOKENS_LIMIT = 4096
# Where a templated answer ends: the model starting the template's next section. The headers
# are the same in `alpaca` and `llm-adapters` (the paper's indentation comes before them); a
# line opening any other "### " section ("### Explanation:", as the demo model writes) ends it
# too: the template's response has no sections of its own.
_ALPACA_HEADERS = ("### Instruction", "### Response", "### Input", "\n### ")
TEMPLATE_STOPS: dict[str, tuple[str, ...]] = {
    "alpaca": _ALPACA_HEADERS,
    "llm-adapters": _ALPACA_HEADERS,
    "chat": (),  # the chat template's end-of-turn is an EOS token of the model
}


@dataclass(frozen=True)
class SamplingParams:
    """How one answer is decoded (the OpenAI names, so the endpoints pass them through)."""

    max_tokens: int = 128
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_tokens <= MAX_TOKENS_LIMIT:
            raise ConfigError(f"max_tokens must be between 1 and {MAX_TOKENS_LIMIT}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError("temperature must be between 0 and 2")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError("top_p must be above 0 and at most 1")
        if len(self.stop) > MAX_STOPS or any(not s for s in self.stop):
            raise ConfigError(f"stop takes at most {MAX_STOPS} non-empty strings")


def template_stops(template: str | None) -> tuple[str, ...]:
    return TEMPLATE_STOPS.get(template or "", ())


def _held_suffix(text: str, stops: Sequence[str]) -> int:
    """Length of the longest end of `text` that is the start of a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


class _Streamer:
    """transformers' streamer protocol: `put` gets the prompt once, then each new token."""

    def __init__(self) -> None:
        self.tokens: queue.Queue[int | None] = queue.Queue()
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # the first call carries the prompt's ids
            self._prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.tokens.put(int(token))

    def end(self) -> None:
        self.tokens.put(None)


class TextStream:
    """An answer as it is generated: iterate for text pieces; once exhausted,
    `finish_reason` ("stop" or "length"), `prompt_tokens` and `completion_tokens` are set.
    Closing it early (or breaking out of the loop) stops the generation."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        prompt: str,
        params: SamplingParams,
        *,
        stops: Sequence[str] = (),
        add_special_tokens: bool = True,
    ) -> None:
        self.model, self.tokenizer, self.params = model, tokenizer, params
        self.stops = tuple(dict.fromkeys([*params.stop, *stops]))
        self._template_stops = frozenset(stops)
        self.prompt_ids: list[int] = tokenizer(prompt, add_special_tokens=add_special_tokens)[
            "input_ids"
        ]
        self.prompt_tokens = len(self.prompt_ids)
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.text = ""
        self._stopped_by_text = False

    def __iter__(self) -> Iterator[str]:
        return self._run()

    def _eos_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        extra = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        if isinstance(extra, int):
            ids.add(extra)
        elif isinstance(extra, list | tuple):
            ids.update(extra)
        return sorted(i for i in ids if i is not None)

    def _run(self) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        halt = threading.Event()

        class _Halt(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), halt.is_set(), dtype=torch.bool)

        streamer = _Streamer()
        p = self.params
        device = next(self.model.parameters()).device
        ids = torch.tensor([self.prompt_ids], device=device)
        eos = self._eos_ids()
        pad = self.tokenizer.pad_token_id
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": p.temperature, "top_p": p.top_p, "top_k": 0}
            if p.temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        failure: list[BaseException] = []

        def work() -> None:
            try:
                if p.seed is not None:
                    torch.manual_seed(p.seed)
                with torch.no_grad():
                    self.model.generate(
                        input_ids=ids,
                        attention_mask=torch.ones_like(ids),
                        max_new_tokens=p.max_tokens,
                        eos_token_id=eos,
                        pad_token_id=pad if pad is not None else eos[0],
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Halt()]),
                        num_beams=1,
                        use_cache=True,
                        **sampling,
                    )
            except BaseException as e:  # noqa: BLE001 - raised again in the consuming thread
                failure.append(e)
            finally:
                streamer.end()

        thread = threading.Thread(target=work, name="text-generation", daemon=True)
        was_training = self.model.training
        self.model.eval()
        thread.start()
        tokens: list[int] = []
        emitted = 0
        try:
            while True:
                token = streamer.tokens.get()
                if token is None:
                    break
                if token in eos:
                    self.finish_reason = "stop"
                    halt.set()
                    continue
                tokens.append(token)
                self.completion_tokens = len(tokens)
                full = self.tokenizer.decode(tokens, skip_special_tokens=True)
                cut = self._first_stop(full)
                if cut is not None:
                    self.finish_reason = "stop"
                    halt.set()
                    self._stopped_by_text = True
                    piece, emitted = full[emitted:cut], cut
                    self.text = full[:cut]
                    if piece:
                        yield piece
                    break
                if full.endswith("\ufffd"):  # a character split across tokens: wait for the rest
                    continue
                safe = len(full) - self._held(full)
                if safe > emitted:
                    piece, emitted = full[emitted:safe], safe
                    self.text = full[:safe]
                    yield piece
            if failure:
                raise failure[0]
            if self.finish_reason is None:
                self.finish_reason = "stop" if self.completion_tokens < p.max_tokens else "length"
            if self.finish_reason == "stop" and self._stopped_by_text:
                return
            # Ended by EOS or length: what was held back (a partial stop, spaces) is the answer's.
            self.text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            if len(self.text) > emitted:
                yield self.text[emitted:]
        finally:
            halt.set()
            thread.join()
            self.model.train(was_training)

    def _first_stop(self, text: str) -> int | None:
        """Where the answer ends, if a stop string occurs in `text`: the stop's start, and
        before a template header also the blank lines and indentation leading to it."""
        best: int | None = None
        for stop in self.stops:
            at = text.find(stop)
            if at < 0:
                continue
            if stop in self._template_stops:
                at = len(text[:at].rstrip())
            best = at if best is None else min(best, at)
        return best

    def _held(self, text: str) -> int:
        held = _held_suffix(text, self.stops)
        if self._template_stops:  # spaces that may lead to a header are held with it
            body = text[: len(text) - held]
            held += len(body) - len(body.rstrip())
        return held


def generate_text(
    model: Any,
    tokenizer: Any,
    prompt: str,
    params: SamplingParams,
    *,
    stops: Sequence[str] = (),
    add_special_tokens: bool = True,
) -> TextStream:
    """The whole answer at once: a `TextStream` run to its end (`.text`, `.finish_reason`)."""
    stream = TextStream(
        model, tokenizer, prompt, params, stops=stops, add_special_tokens=add_special_tokens
    )
    for _ in stream:
        pass
    return stream
