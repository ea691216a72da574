"""Kill ``nlpseq train`` anywhere (seeded points, inside checkpoint writes too), resume, and reach the
uninterrupted run's final state bit for bit, for every model family (the harness: faults.py)."""

import pytest
from safetensors.torch import load_file

from .faults import FAST, Zygote, differences, each_kind, final_checkpoint, kill_and_resume, kill_points

STEPS, EVERY, EVAL_EVERY = 10, 2, 3
FAMILIES = {
    "sentiment": ("recipes/sentiment/tiny_lstm.yaml", []),
    # A max_steps budget schedule: a resumed run must read the budget exactly as the straight one did.
    "tree": ("recipes/trees/tiny_rntn.yaml", ["--set", "train.schedule=budget_linear"]),
    # Batched a pool of 64 pairs at a time, as a corpus larger than train.bucket_pool is: kills land
    # mid-pool and the resumed run must rebuild the same pools (the other families bucket whole).
    "translation": ("recipes/translation/tiny_de_en.yaml", ["--set", "decode.dev_beam=1", "--set", "train.bucket_pool=64"]),
    # Truncated BPTT: the carried state is in the checkpoint. The machine is measured as in a user's run:
    # its FLOP count runs an extra forward pass on a resumed run's first batch, which must leave that state.
    "language_model": ("recipes/lm/tiny_char.yaml", ["--set", "train.measure_machine=true"]),
}
ARGS = [*FAST, "--set", f"train.max_steps={STEPS}", "--set", f"train.checkpoint_every={EVERY}",
        "--set", f"train.eval_every={EVAL_EVERY}", "--set", "train.epochs=1000"]


@pytest.fixture(scope="module")
def zygote():
    z = Zygote()
    yield z
    z.close()


def _check(zygote, tmp_path, family, points):
    recipe, extra = FAMILIES[family]
    args = [*ARGS, *extra]
    straight = tmp_path / "straight"
    assert zygote.run(["train", recipe, "--out", str(straight), *args], tmp_path / "straight.log")["code"] == 0, \
        (tmp_path / "straight.log").read_text()[-800:]
    weights, state = final_checkpoint(straight)
    assert state["progress"]["step"] == STEPS
    if family == "language_model":
        assert state["carried"] is not None
    for i, point in enumerate(points):
        out = tmp_path / f"killed{i}"
        kill_and_resume(zygote, recipe, out, args, point)
        w, s = final_checkpoint(out)
        diff = differences(weights, w, "weights") + differences(state, s)
        # and the weights the run selected on dev (train.select), saved beside the checkpoints
        diff += differences(load_file(str(straight / "model.safetensors")), load_file(str(out / "model.safetensors")),
                            "selected")
        assert not diff, f"{family}, killed at {point}: {diff[:5]}"


@pytest.mark.parametrize("family", FAMILIES)
def test_one_kill_of_each_kind_then_resume_reaches_the_same_final_state(zygote, tmp_path, family):
    # After a backward pass, after an optimizer step, part-way through each checkpoint file, between
    # them and after the rename, during a dev evaluation, part-way through the selected weights and
    # through run.json: each with an older checkpoint present, each resumed from the newest complete one.
    _check(zygote, tmp_path, family, each_kind(STEPS, EVERY, EVAL_EVERY))


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_twenty_seeded_kills_then_resume_reach_the_same_final_state(zygote, tmp_path, family):
    _check(zygote, tmp_path, family, kill_points(1000 + len(family), 20, STEPS, EVERY, EVAL_EVERY))
