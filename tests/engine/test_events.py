from __future__ import annotations

import asyncio

from studio.engine import EventBus


def test_replay_after_last_id_and_resync_when_it_is_gone() -> None:
    async def main() -> None:
        bus = EventBus(history=3)
        first = bus.publish("a", {}, None)
        for name in "bcde":
            bus.publish(name, {}, None)  # the ring keeps c, d, e (ids 3-5)

        async def take(last: str | None, n: int) -> list[str]:
            out = []
            async for event in bus.subscribe(last, keepalive=0.05):
                if event is not None:
                    out.append(event.type)
                if len(out) == n:
                    break
            return out

        assert await take(f"{bus.epoch}-3", 2) == ["d", "e"]  # what came after id 3
        assert await take(f"{bus.epoch}-2", 3) == ["c", "d", "e"]  # nothing missed is gone
        assert await take(first.id, 1) == ["resync"]  # id 2 was missed and is gone
        assert await take("otherepoch-3", 1) == ["resync"]  # an engine restart
        bus.close()

    asyncio.run(main())


def test_project_filter_and_keepalive() -> None:
    async def main() -> list[str | None]:
        bus = EventBus()
        seen: list[str | None] = []

        async def listen() -> None:
            async for event in bus.subscribe(None, project_id="prj_a", keepalive=0.05):
                seen.append(event.type if event else None)
                if event is not None and event.type == "done":
                    return

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.12)  # quiet: keepalives
        bus.publish("other", {}, "prj_b")
        bus.publish("mine", {}, "prj_a")
        bus.publish("global", {}, None)
        bus.publish("done", {}, "prj_a")
        await asyncio.wait_for(task, 2)
        return seen

    seen = asyncio.run(main())
    assert None in seen
    assert [s for s in seen if s] == ["mine", "global", "done"]


def test_a_stalled_reader_is_cut_off_instead_of_growing_without_bound() -> None:
    async def main() -> tuple[list[str], int]:
        bus = EventBus(queue_size=5)
        stream = bus.subscribe(None, keepalive=5)
        pending = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        for n in range(20):  # the reader is not reading
            bus.publish(f"e{n}", {}, None)
        got: list[str] = []
        try:
            event = await pending
            got.append(event.type if event else "keepalive")
            async for event in stream:
                got.append(event.type if event else "keepalive")
        except StopAsyncIteration:
            pass
        return got, len(bus._subscribers)

    got, subscribers = asyncio.run(main())
    assert len(got) <= 5  # never more than its queue held: its stream ended
    assert subscribers == 0
