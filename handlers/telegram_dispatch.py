"""aiogram's dispatch, minus the middleware chains it rebuilds and the coroutine levels
it stacks for every update (issue 16 item 6).

For each update aiogram wraps its handler in the registered middlewares three times over
(the Dispatcher's update observer, then each router level's observer, then the matched
handler's inner middlewares): `functools.wraps` and a `partial` per middleware, even
where there are none, which is every observer of the client bot but the update's
(ErrorsMiddleware, UserContextMiddleware). And it reaches the handler through fifteen
coroutine levels, each built per update, which every resumption of the step (each
database round trip) passes through again. `LeanObserver` calls a callback directly where no
middleware applies, and keeps the update observer's chain while its middlewares and
callback stay the same: a middleware registered later (or removed) rebuilds it.
`LeanRouting` hands an event on without the two levels per router (`propagate_event`
and its `_wrapped`) where no outer middleware applies. Nine levels remain. Routing,
filters, handlers and middlewares are aiogram's own; tests/test_telegram_dispatch.py
holds the lean dispatch equal to aiogram's as middlewares come and go, and
bench/dispatch_bench.py measures both (about 30 µs less per update)."""

from __future__ import annotations

import types
from typing import Any, cast

from aiogram import Dispatcher, Router
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
                    if not middlewares and handler.awaitable:  # handler.call, one level less
                        return await handler.callback(event, **handler._prepare_kwargs(kwargs))
                    if not middlewares:
                        return await handler.call(event, **kwargs)
                    wrapped = self.outer_middleware.wrap_middlewares(middlewares, handler.call)
                    return await wrapped(event, kwargs)
                except SkipHandler:
                    continue
        return UNHANDLED


class LeanRouting:
    """Router.propagate_event handing back `_propagate_event`'s coroutine itself where the
    observer has no outer middleware: two coroutine levels fewer per router, which every
    resumption of the step (each database round trip) passes through."""

    def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        router = cast(Router, self)
        observer = router.observers.get(update_type)
        if observer is None or observer.outer_middleware._middlewares:
            return Router.propagate_event(router, update_type, event, **kwargs)
        kwargs["event_router"] = router
        return router._propagate_event(observer, update_type, event, **kwargs)


class LeanRouter(LeanRouting, Router):
    """A Router whose events go on with fewer coroutine levels (LeanRouting)."""


class LeanDispatcher(LeanRouting, Dispatcher):
    """A Dispatcher whose events go on with fewer coroutine levels (LeanRouting)."""


def lean(dispatcher: Dispatcher) -> Dispatcher:
    """The dispatcher with every observer of its routers (included by now) made lean.
    LeanObserver adds methods and no state, so each observer keeps its handlers,
    filters and middlewares; a router included later keeps aiogram's observers."""
    for router in dispatcher.chain_tail:
        if type(router) is Router:
            router.__class__ = LeanRouter
        elif type(router) is Dispatcher:
            router.__class__ = LeanDispatcher
        for observer in router.observers.values():
            if type(observer) is TelegramEventObserver:
                observer.__class__ = LeanObserver
    return dispatcher
