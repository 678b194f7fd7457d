"""Flag: asyncio.Event's set/clear/wait, without its waiters' deque."""

import asyncio

import pytest

from bridge.flag import Flag


async def test_waiters_wake_when_set_and_a_set_flag_does_not_block() -> None:
    flag = Flag()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    async with asyncio.timeout(1):
        await asyncio.gather(*waiters)
        await flag.wait()
    assert flag.is_set()
    flag.clear()
    assert not flag.is_set()


async def test_a_cancelled_wait_is_forgotten() -> None:
    flag = Flag()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await flag.wait()
    assert not flag._waiters
    later = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    flag.set()
    async with asyncio.timeout(1):
        await later
