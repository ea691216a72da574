import asyncio
import threading

import pytest

from nlpseq.serve.batcher import MicroBatcher


class Recorder:
    """A model stand-in that records the batches it is given and can be held back."""

    def __init__(self, fail_on=None):
        self.calls: list[tuple[list, dict]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items, **options):
        self.entered.set()
        self.gate.wait(5)
        self.calls.append((list(items), options))
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"bad item {self.fail_on!r}")
        return [f"{x}!" for x in items]


async def _entered(model):
    for _ in range(500):
        if model.entered.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the model thread never started")


async def _burst(batcher, requests, hold=None):
    """Send ``requests`` concurrently while the model is held on its first call."""
    if hold is not None:
        hold.gate.clear()
    first = asyncio.create_task(batcher.submit(["warm"]))
    await _entered(batcher.fn)  # the model thread is now inside its first call
    tasks = [asyncio.create_task(batcher.submit(items, **opts)) for items, opts in requests]
    await asyncio.sleep(0.05)
    if hold is not None:
        hold.gate.set()
    results = await asyncio.gather(first, *tasks, return_exceptions=True)
    batcher.close()
    return results[1:]


def test_requests_waiting_together_share_one_model_call():
    model = Recorder()
    batcher = MicroBatcher(model, max_batch=64, max_wait_ms=0)
    out = asyncio.run(_burst(batcher, [([f"t{i}"], {}) for i in range(10)], hold=model))
    assert out == [[f"t{i}!"] for i in range(10)]  # each caller gets its own answers, in order
    assert len(model.calls) == 2  # the warm-up alone, then the ten together
    assert sorted(model.calls[1][0]) == sorted(f"t{i}" for i in range(10))


def test_without_batching_every_request_is_one_call():
    model = Recorder()
    batcher = MicroBatcher(model, batching=False)
    out = asyncio.run(_burst(batcher, [([f"t{i}"], {}) for i in range(5)], hold=model))
    assert out == [[f"t{i}!"] for i in range(5)]
    assert len(model.calls) == 6


def test_batches_respect_max_batch_and_keep_options_apart():
    model = Recorder()
    batcher = MicroBatcher(model, max_batch=3, max_wait_ms=0)
    reqs = [(["a"], {"beam": 1}), (["b"], {"beam": 5}), (["c"], {"beam": 1}), (["d"], {"beam": 1}),
            (["e"], {"beam": 1}), (["f"], {"beam": 5})]
    out = asyncio.run(_burst(batcher, reqs, hold=model))
    assert out == [[x + "!"] for x in "abcdef"]
    for items, opts in model.calls[1:]:
        assert len(items) <= 3
        expect = 5 if set(items) <= {"b", "f"} else 1
        assert opts.get("beam") == expect, (items, opts)
    assert sum(len(i) for i, _ in model.calls[1:]) == 6


def test_one_bad_request_does_not_fail_its_neighbours():
    model = Recorder(fail_on="bad")
    batcher = MicroBatcher(model, max_wait_ms=0)
    out = asyncio.run(_burst(batcher, [(["ok1"], {}), (["bad"], {}), (["ok2"], {})], hold=model))
    assert out[0] == ["ok1!"] and out[2] == ["ok2!"]
    assert isinstance(out[1], ValueError) and "bad" in str(out[1])


def test_a_caller_that_gave_up_is_not_computed():
    model = Recorder()

    async def scenario():
        batcher = MicroBatcher(model, max_wait_ms=0)
        model.gate.clear()
        first = asyncio.create_task(batcher.submit(["warm"]))
        await _entered(model)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(batcher.submit(["late"]), 0.05)
        model.gate.set()
        await first
        assert await batcher.submit(["next"]) == ["next!"]
        batcher.close()

    asyncio.run(scenario())
    assert all("late" not in items for items, _ in model.calls)
