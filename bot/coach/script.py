"""The coach's sales script, a part of the business config (`[coach]`): the steps a manager's
dialogue is reviewed against (bot/coach/rules.py, bot/coach/model_review.py). Plain data, so
bot.config and the scenarios may import it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NEED_STEP = "need"  # the script step price must not come before


class ScriptStep(_Strict):
    """One step: its id (what the model answers with), a title for people, and the words
    (lower case, matched from a word's start) that show it in the manager's messages."""

    id: str = Field(pattern=r"^[a-z_]{1,16}$")
    title: str = Field(min_length=1, max_length=60)
    words: list[str] = Field(default_factory=list)
    times: bool = False  # a clock time («в 15:30») also shows this step (offering a slot)
    questions: bool = False  # any other question the manager asks shows it (need discovery)
    tip: str = Field(default="", max_length=200)  # the advice when missed; empty: the catalog's


def _words(text: str) -> list[str]:
    return text.split("|")


def _default_steps() -> list[ScriptStep]:
    """Greeting, need discovery before price, a concrete slot, a booking or a next step."""
    need = "какой |какая |какие |какую |каким |каком |каких |какого |что хотите|хотели бы"
    need += "|расскажите|уточн|пожелан|для чего|повод|что важно|раньше делали|делали ли"
    need += "|вас интересует"
    close = "записал|записываю|жду вас|ждем вас|до встречи|подтверждаю|бронирую|забронир"
    close += "|перезвоню|напишу вам|напомню"
    return [
        ScriptStep(
            id="greeting",
            title="Приветствие",
            words=_words("здравств|добрый день|добрый вечер|доброе утро|привет"),
        ),
        ScriptStep(id=NEED_STEP, title="Выявление потребности", words=_words(need), questions=True),
        ScriptStep(
            id="slot",
            title="Конкретное время",
            words=_words("свободно |есть окно|окошко|могу предложить|можем записать"),
            times=True,
        ),
        ScriptStep(id="close", title="Запись или следующий шаг", words=_words(close)),
    ]


class CoachScript(_Strict):
    """The script and the review's limits; every field has a sensible default."""

    steps: list[ScriptStep] = Field(default_factory=_default_steps, min_length=1, max_length=10)
    price_words: list[str] = Field(
        default_factory=lambda: _words("стоит|стоимость|цена |цене |руб|₽|прайс")
    )
    # a manager's question with these words is about time or booking, not about the need
    not_need: list[str] = Field(
        default_factory=lambda: _words(
            "когда|удобно|запис|подойдет|устроит|хорошо|обращаться|перенест"
        )
    )
    quiet_hours: int = Field(default=12, ge=1, le=168)  # silence that ends an open dialogue
    slow_answer_minutes: int = Field(default=3, ge=1, le=240)  # the first answer's target
    tips: bool = True  # send managers tips after each reviewed dialogue

    @model_validator(mode="after")
    def _unique_steps(self) -> CoachScript:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"steps: an id is used twice ({', '.join(ids)})")
        return self

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps)

    def step(self, step_id: str) -> ScriptStep | None:
        return next((s for s in self.steps if s.id == step_id), None)
