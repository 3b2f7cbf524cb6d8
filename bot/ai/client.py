"""The one place that talks to an OpenAI-compatible model: a forced tool call, bounded in time.

Every call is logged (purpose, latency, tokens, outcome) and counted per month in `ai_usage`.
Any failure — timeout, HTTP error, no tool call, arguments that are not a JSON object —
returns None, and the caller falls back to its rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import openai

from bot import metrics
from bot.ai import usage
from bot.clock import Clock

log = logging.getLogger("priyom.ai")


@dataclass(frozen=True)
class Tool:
    """A function the model must call; `parameters` is its JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]

    def spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class AiClient:
    def __init__(
        self,
        api_key: str,
        model: str,
        clock: Clock,
        timezone: Any,
        base_url: str = "",
        timeout: float = 2.5,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.clock = clock
        self.tz = timezone
        self._sdk = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=timeout,
            max_retries=0,  # a retry cannot fit in the 3-second reply budget
            default_headers=headers or None,
        )

    async def call(
        self, purpose: str, messages: list[dict[str, str]], tool: Tool, max_tokens: int = 300
    ) -> dict[str, Any] | None:
        """The arguments of the model's call of `tool`, or None (then use the rules)."""
        started = time.perf_counter()
        outcome, tokens, args = "ok", (0, 0), None
        try:
            response = await asyncio.wait_for(
                self._sdk.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    tools=[tool.spec()],  # type: ignore[list-item]
                    tool_choice={"type": "function", "function": {"name": tool.name}},
                    temperature=0,
                    max_tokens=max_tokens,
                ),
                self.timeout,
            )
            if response.usage is not None:
                tokens = (response.usage.prompt_tokens, response.usage.completion_tokens)
            args = _tool_arguments(response, tool.name)
            if args is None:
                outcome = "invalid"
        except (TimeoutError, openai.APITimeoutError):
            outcome = "timeout"
        except Exception as exc:  # HTTP errors, a body that is not JSON…: use the rules
            outcome = f"error:{type(exc).__name__}"
        ms = round((time.perf_counter() - started) * 1000)
        log.info(
            "ai_call",
            extra={
                "purpose": purpose,
                "model": self.model,
                "ms": ms,
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
                "outcome": outcome,
            },
        )
        month = self.clock.now().astimezone(self.tz).strftime("%Y-%m")
        await usage.record(month, purpose, tokens, failed=args is None)
        metrics.model_call(purpose, outcome, fell_back=args is None)
        return args

    async def close(self) -> None:
        await self._sdk.close()


def _tool_arguments(response: Any, name: str) -> dict[str, Any] | None:
    """The JSON object the model passed to `name`, or None when it did something else."""
    try:
        calls = response.choices[0].message.tool_calls or []
    except (AttributeError, IndexError):
        return None
    for call in calls:
        function = getattr(call, "function", None)
        if function is None or function.name != name:
            continue
        try:
            args = json.loads(function.arguments or "")
        except (json.JSONDecodeError, TypeError):
            return None
        return args if isinstance(args, dict) else None
    return None
