"""Builds the AI layer from the settings: a model client only when a key is configured."""

from __future__ import annotations

from bot.ai.client import AiClient
from bot.ai.knowledge import Knowledge
from bot.ai.reminder import Greeter
from bot.ai.understand import Assistant
from bot.clock import Clock
from bot.coach.model_review import Reviewer
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.settings import Settings


def model_client(settings: Settings, config: BusinessConfig, clock: Clock) -> AiClient | None:
    if not settings.openai_api_key:
        return None
    return AiClient(
        settings.openai_api_key,
        settings.openai_model,
        clock,
        config.tz,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout,
        headers=settings.openai_headers,
    )


def assistant(
    settings: Settings, config: BusinessConfig, texts: Texts, client: AiClient | None
) -> Assistant:
    knowledge = Knowledge.load(config, texts, settings.ai_knowledge_file)
    return Assistant(config, knowledge, client)


def greeter(settings: Settings, config: BusinessConfig, clock: Clock) -> Greeter | None:
    """Personal reminder greetings, when a model is configured."""
    client = model_client(settings, config, clock)
    return Greeter(client) if client else None


def reviewer(settings: Settings, config: BusinessConfig, texts: Texts, clock: Clock) -> Reviewer:
    """The coach's dialogue reviews: the model when a key is configured, else the rules."""
    return Reviewer(config, texts, model_client(settings, config, clock))
