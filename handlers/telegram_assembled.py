"""Bot API methods a reply sends on every step, assembled as pydantic's validation leaves them.

Validating `EditMessageText(chat_id=…, message_id=…, text=…, reply_markup=…)` costs about
5 µs (the `remove_unset` validator, field by field checks, the defaults, `model_post_init`
through the class chain), about 0.4 % of a flow step per method (issue 16 item 6).
pydantic's `model_construct` is no way out: it deep-copies every aiogram `Default` and costs
six times as much. `Assembled` writes what validation would have written: the fields given,
every other field's default as the validated model holds it (shared `Default`s and None,
which nothing mutates), the fields-set of the given names, no extras, `_bot` unset. It
only does so for values of the very types validation would keep as they are; anything else
goes through the validating constructor, so a wrong value still fails as before.
tests/test_telegram_assembled.py holds each method equal to aiogram's own, on the wire too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from aiogram.client.default import Default
from aiogram.methods import TelegramMethod

M = TypeVar("M", bound=TelegramMethod[Any])
SHAREABLE = (type(None), Default, str, int, bool)  # defaults nobody mutates
_new = object.__new__
_set = object.__setattr__


class Assembled(Generic[M]):
    """`method(**values)` without validation, for values of exactly the types given."""

    def __init__(self, method: type[M], types: Mapping[str, tuple[type, ...]], **sample: Any):
        validated = method(**sample)  # the defaults and private state, as validation sets them
        given = set(types)
        if given != set(sample):
            raise ValueError(f"the sample must set exactly {sorted(given)}")
        defaults = {k: v for k, v in validated.__dict__.items() if k not in given}
        if not all(isinstance(v, SHAREABLE) for v in defaults.values()):
            raise TypeError(f"{method.__name__} has a default that could be mutated")
        if validated.__pydantic_extra__ != {} or set(validated.__pydantic_private__) != {"_bot"}:
            raise TypeError(f"{method.__name__} is not a plain aiogram method")
        self.method, self.types = method, types
        self.template = {k: (None if k in given else v) for k, v in validated.__dict__.items()}

    def __call__(self, **values: Any) -> M:
        types = self.types
        if values.keys() != types.keys() or not all(
            type(value) in types[name] for name, value in values.items()
        ):
            return self.method(**values)  # validation decides, as it always did
        fields = self.template.copy()
        fields.update(values)
        method = _new(self.method)
        _set(method, "__dict__", fields)
        _set(method, "__pydantic_fields_set__", set(values))
        _set(method, "__pydantic_extra__", {})
        _set(method, "__pydantic_private__", {"_bot": None})
        return method
