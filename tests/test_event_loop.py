"""`python -m bot` (the bots and the worker) runs on uvloop when it is installed."""

from __future__ import annotations

import asyncio

import uvloop

from bot.__main__ import serve


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_the_long_lived_processes_run_on_uvloop():
    assert serve(_loop_type()) is uvloop.Loop
