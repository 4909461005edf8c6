"""A chat-completions client for any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server, a
hosted API), through the ``openai`` package, with a hard deadline and streaming.

The text is streamed so a deadline holds mid-answer (reading stops once it passes) and chat/voice
callers can show the words as they come (``on_delta``). Library errors are translated here into
``GenerationFailed`` with a short code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from tactful.errors import TactfulError


class GenerationFailed(TactfulError):
    code = "generation_failed"
    status = 503


class GenerationTimeout(GenerationFailed):
    code = "generation_timeout"


@dataclass(frozen=True)
class LlmConfig:
    """One tenant's model: where it is served and what it is called. ``api_key`` may be empty
    for a local server."""

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    max_tokens: int = 160
    temperature: float = 0.3
    seed: int = 7  # servers that honour it give the same text for the same prompt


class ChatModel:
    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "unused",
            max_retries=0,  # the renderer owns retries: one regeneration, within the channel's budget
            timeout=30.0,
        )

    def close(self) -> None:
        self._client.close()

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        deadline: float,
        on_delta: Callable[[str], None] | None = None,
    ) -> str:
        """The model's reply, streamed; raises ``GenerationTimeout`` once ``deadline``
        (``time.monotonic()`` seconds) passes, ``GenerationFailed`` for any other failure."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GenerationTimeout("no time left in the channel's budget")
        parts: list[str] = []
        try:
            stream = self._client.chat.completions.create(
                model=self.config.model,
                messages=cast(list[ChatCompletionMessageParam], messages),
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
                seed=self.config.seed,
                stream=True,
                timeout=remaining,
            )
            with stream:
                for chunk in stream:
                    if time.monotonic() > deadline:
                        raise GenerationTimeout("the model was still writing at the channel's deadline")
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        parts.append(delta)
                        if on_delta is not None:
                            on_delta(delta)
        except openai.APITimeoutError as exc:
            raise GenerationTimeout("the model did not answer within the channel's budget") from exc
        except openai.APIStatusError as exc:
            raise GenerationFailed(
                f"the model server answered {exc.status_code}", code="generation_http_error"
            ) from exc
        except openai.APIError as exc:
            raise GenerationFailed(f"the model server failed ({type(exc).__name__})") from exc
        return "".join(parts)
