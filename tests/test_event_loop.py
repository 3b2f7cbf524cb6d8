"""`python -m bot` (the bots and the worker) runs on uvloop when it is installed, and
collects garbage less often than Python by default."""

from __future__ import annotations

import asyncio
import gc

import pytest
import uvloop

from bot.__main__ import GC_THRESHOLDS, serve


@pytest.fixture(autouse=True)
def _python_gc():
    """serve() tunes the process's collector: the test process gets Python's back."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_the_long_lived_processes_run_on_uvloop():
    assert serve(_loop_type()) is uvloop.Loop


def test_the_long_lived_processes_collect_garbage_less_often():
    serve(_loop_type())
    assert gc.get_threshold() == GC_THRESHOLDS
    assert all(ours > python for ours, python in zip(GC_THRESHOLDS, (700, 10, 10), strict=True))
