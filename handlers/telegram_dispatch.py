"""aiogram's dispatch, minus the middleware chains it rebuilds for every update.

For each update aiogram wraps its handler in the registered middlewares three times over
(the Dispatcher's update observer, then each router level's observer, then the matched
handler's inner middlewares): `functools.wraps` and a `partial` per middleware, even
where there are none, which is every observer of the client bot but the update's
(ErrorsMiddleware, UserContextMiddleware). `LeanObserver` calls a callback directly where
no middleware applies, and keeps the update observer's chain while its middlewares and
callback stay the same: a middleware registered later (or removed) rebuilds it.
Routing, filters, handlers and middlewares are aiogram's own (issue 16 item 6).
"""

from __future__ import annotations

import types
from typing import Any

from aiogram import Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.types import TelegramObject


class LeanObserver(TelegramEventObserver):
    """TelegramEventObserver that builds a middleware chain only where there is one."""

    _chain: tuple[Any, tuple[Any, ...], Any] | None = None  # callback, middlewares, chain

    def wrap_outer_middleware(
        self, callback: Any, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        middlewares = tuple(self.outer_middleware._middlewares)
        if not middlewares:
            return callback(event, **data)  # what the bare chain's handler_wrapper does
        kept = self._chain
        if kept is not None and kept[0] == callback and kept[1] == middlewares:
            return kept[2](event, data)
        chain = self.middleware.wrap_middlewares(middlewares, callback)
        if isinstance(callback, types.MethodType):  # a router's closure is new per update
            self._chain = (callback, middlewares, chain)
        return chain(event, data)

    def _resolve_middlewares(self) -> list[Any]:
        """aiogram's: the inner middlewares of this event on every router from the root
        down to this one, without a generator and a Sequence iterator per level."""
        levels = []
        router = self.router
        while router is not None:
            observer = router.observers.get(self.event_name)
            if observer is not None:
                levels.append(observer.middleware._middlewares)
            router = router.parent_router
        return [middleware for level in reversed(levels) for middleware in level]

    async def trigger(self, event: TelegramObject, **kwargs: Any) -> Any:
        """aiogram's `trigger`, calling the matched handler directly when no inner
        middleware applies to it."""
        for handler in self.handlers:
            kwargs["handler"] = handler
            result, data = await handler.check(event, **kwargs)
            if result:
                kwargs.update(data)
                try:
                    middlewares = self._resolve_middlewares()
                    if not middlewares:
                        return await handler.call(event, **kwargs)
                    wrapped = self.outer_middleware.wrap_middlewares(middlewares, handler.call)
                    return await wrapped(event, kwargs)
                except SkipHandler:
                    continue
        return UNHANDLED


def lean(dispatcher: Dispatcher) -> Dispatcher:
    """The dispatcher with every observer of its routers (included by now) made lean.
    LeanObserver adds methods and no state, so each observer keeps its handlers,
    filters and middlewares; a router included later keeps aiogram's observers."""
    for router in dispatcher.chain_tail:
        for observer in router.observers.values():
            if type(observer) is TelegramEventObserver:
                observer.__class__ = LeanObserver
    return dispatcher
