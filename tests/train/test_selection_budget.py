"""Budget schedules (the rate reaches min_lr when the budget runs out), time-spaced evaluations, and
the choice of saved weights (best, lowest dev loss, last, average of the last checkpoints)."""

import math

import pytest
import torch
from safetensors.torch import load_file

from nlpseq.errors import RecipeError
from nlpseq.run import RunDir
from nlpseq.train.checkpoint import list_checkpoints
from nlpseq.train.config import TrainConfig
from nlpseq.train.optim import Schedule, budget_factor

from nlpseq.train.trainer import Trainer

from .test_trainer import Toy, make, toy_data


def test_budget_factor_falls_linearly_or_along_a_cosine():
    assert [budget_factor("budget_linear", u) for u in (0, 0.25, 1, 1.5)] == [1.0, 0.75, 0.0, 0.0]
    assert budget_factor("budget_cosine", 0.5) == pytest.approx(0.5)
    assert budget_factor("budget_cosine", 0.25) == pytest.approx(0.853553, abs=1e-6)  # (1 + cos(pi / 4)) / 2
    assert budget_factor("budget_cosine", 1.0) == pytest.approx(0.0, abs=1e-12)


def test_warmup_stable_decay_holds_the_rate_then_falls_over_its_last_share():
    assert [budget_factor("budget_wsd", u, 0.2) for u in (0, 0.5, 0.79)] == [1.0, 1.0, 1.0]
    assert budget_factor("budget_wsd", 0.9, 0.2) == pytest.approx(0.5)
    assert budget_factor("budget_wsd", 0.95, 0.1) == pytest.approx(0.5)
    assert budget_factor("budget_wsd", 1.0, 0.2) == 0.0


@pytest.mark.parametrize("kind", ["budget_linear", "budget_cosine"])
def test_budget_schedule_reaches_min_lr_at_the_budget(kind):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    used = [0.0]
    sched = Schedule(opt, TrainConfig(schedule=kind, lr=0.1, min_lr=0.001), budget_used=lambda: used[0])
    assert sched.lr == pytest.approx(0.1)
    used[0] = 0.5
    sched.step()
    mid = 0.001 + 0.099 * (0.5 if kind == "budget_linear" else 0.5 * (1 + math.cos(math.pi / 2)))
    assert sched.lr == pytest.approx(mid)
    used[0] = 1.0
    sched.step()
    assert sched.lr == pytest.approx(0.001)


def test_trainer_budget_follows_steps_epochs_and_time(tmp_path, monkeypatch):
    data, _, _ = toy_data()
    tr = make(tmp_path, epochs=4, lr=0.1, schedule="budget_linear", min_lr=0.0)
    tr.fit(data)
    lrs = [r["lr"] for r in RunDir(tmp_path).read_metrics() if r["split"] == "train"]
    assert tr.schedule.lr == 0.0 and lrs[-1] == 0.0  # the last of the 4 epochs ends the budget
    tr = make(_dir(tmp_path, "t"), epochs=100, lr=0.1, schedule="budget_linear", max_minutes=10.0)
    monkeypatch.setattr(tr, "elapsed", lambda: 150.0)  # 2.5 of 10 minutes
    assert tr.budget_used() == pytest.approx(0.25)
    tr = make(_dir(tmp_path, "s"), epochs=100, lr=0.1, schedule="budget_linear", max_steps=20)
    tr.fit(data)
    assert tr.progress.step == 20 and tr.schedule.lr == 0.0


def test_budget_run_resumes_to_the_same_weights(tmp_path):
    data, _, _ = toy_data()
    cfg = dict(epochs=4, lr=0.05, schedule="budget_cosine", eval_every=3)
    full = make(_dir(tmp_path, "full"), lambda m: {"mse": 1.0}, **cfg)
    full.fit(data)
    calls = []

    def dies_at_the_fourth_evaluation(m):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # a kill after the checkpoint of step 9, mid-epoch
        return {"mse": 1.0}

    with pytest.raises(KeyboardInterrupt):
        make(_dir(tmp_path, "part"), dies_at_the_fourth_evaluation, **cfg).fit(data)
    resumed = make(tmp_path / "part", lambda m: {"mse": 1.0}, **cfg)
    assert resumed.resume() and resumed.progress.step == 9
    resumed.fit(data)
    assert resumed.schedule.lr == full.schedule.lr == 0.0
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


def test_evaluations_are_spaced_in_time_as_well_as_steps(tmp_path, monkeypatch):
    data, _, _ = toy_data()
    calls = []
    tr = make(tmp_path, lambda m: calls.append(tr.progress.step) or {"mse": 1.0}, epochs=3, eval_every_minutes=1.0)
    clock = iter(range(0, 100_000, 20))  # each reading of the clock is 20 s after the last
    monkeypatch.setattr("nlpseq.train.trainer.time.perf_counter", lambda: float(next(clock)))
    tr._started = 0.0
    tr.fit(data)
    per_epoch = 64 // 8
    assert len(calls) > 3  # more than the three end-of-epoch evaluations
    assert any(s % per_epoch for s in calls)  # some fell inside an epoch


def _dir(tmp_path, name):
    (tmp_path / name).mkdir()
    return tmp_path / name


def _weights(path):
    return load_file(str(path))


def test_select_last_saves_the_final_weights(tmp_path):
    data, _, _ = toy_data()
    tr = make(tmp_path, lambda m: {"mse": float(tr.progress.step)}, epochs=5, select="last")  # gets worse: best is the first
    tr.fit(data)
    saved = _weights(tmp_path / "model.safetensors")
    assert all(torch.equal(saved[k], v) for k, v in tr.model.state_dict().items())


def test_select_average_saves_the_mean_of_the_last_checkpoints(tmp_path):
    data, _, _ = toy_data()
    tr = make(tmp_path, lambda m: {"mse": 1.0}, epochs=6, lr=0.05, select="average", average_last=3, keep_checkpoints=3)
    tr.fit(data)
    ckpts = list_checkpoints(RunDir(tmp_path))
    assert len(ckpts) == 3
    states = [_weights(c / "model.safetensors") for c in ckpts]
    saved = _weights(tmp_path / "model.safetensors")
    for k in saved:
        expected = (states[0][k].double() + states[1][k].double() + states[2][k].double()) / 3
        assert torch.allclose(saved[k].double(), expected, atol=1e-7)
        assert not torch.equal(saved[k], states[-1][k])  # really an average, not the newest


def test_select_average_needs_enough_kept_checkpoints():
    with pytest.raises(Exception, match="keep_checkpoints >= 5"):
        TrainConfig(select="average", average_last=5, keep_checkpoints=2)


def test_select_loss_saves_the_weights_of_the_lowest_dev_loss(tmp_path):
    data, x, y = toy_data()
    # The metric keeps improving while the "loss" is lowest at the 3rd evaluation: the two choices differ.
    losses = iter([5.0, 4.0, 1.0, 2.0, 3.0, 4.0])
    seen = {}

    def evaluate(m):
        loss = next(losses)
        seen[loss] = {k: v.detach().clone() for k, v in m.state_dict().items()}
        return {"mse": -float(tr.progress.step), "loss": loss}

    tr = make(tmp_path, evaluate, epochs=6, lr=0.05, select="loss")
    tr.fit(data)
    saved = _weights(tmp_path / "model.safetensors")
    assert all(torch.equal(saved[k], seen[1.0][k]) for k in saved)


def test_select_loss_without_a_dev_loss_is_a_one_line_error(tmp_path):
    data, _, _ = toy_data()
    tr = make(tmp_path, lambda m: {"mse": 1.0}, epochs=2, select="loss")
    with pytest.raises(RecipeError, match="dev loss"):
        tr.fit(data)


def test_a_max_steps_budget_resumed_mid_epoch_reaches_the_uninterrupted_weights(tmp_path):
    data, _, _ = toy_data()
    cfg = dict(epochs=50, max_steps=20, lr=0.05, schedule="budget_linear", eval_every=3)
    full = make(_dir(tmp_path, "full"), lambda m: {"mse": 1.0}, **cfg)
    rates = []
    full.schedule.step = (lambda step: lambda: (step(), rates.append(full.schedule.lr)))(full.schedule.step)
    first = full.schedule.lr
    full.fit(data)
    # Step j (from 1) runs at lr * (1 - (j - 1) / 20): the first at the full rate, none at 0.
    assert [first, *rates[:-1]] == pytest.approx([0.05 * (1 - j / 20) for j in range(20)])
    calls = []

    def dies_at_the_fourth_evaluation(m):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # after the checkpoint of step 9 (evaluations at 3, 6, 8, 9): mid-epoch
        return {"mse": 1.0}

    with pytest.raises(KeyboardInterrupt):
        make(_dir(tmp_path, "part"), dies_at_the_fourth_evaluation, **cfg).fit(data)
    resumed = make(tmp_path / "part", lambda m: {"mse": 1.0}, **cfg)
    assert resumed.resume() and resumed.progress.step == 9 and resumed.progress.batch_in_epoch % 8
    resumed.fit(data)
    assert resumed.progress.step == full.progress.step == 20
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_select_best_keeps_the_weights_of_the_best_evaluation_in_either_direction(tmp_path, higher_is_better):
    data, _, _ = toy_data()
    scores = iter([1.0, 3.0, 5.0, 4.0, 2.0, 0.5])  # rises to the third evaluation, then falls
    seen = {}

    def evaluate(m):
        v = next(scores)
        seen[v] = {k: t.detach().clone() for k, t in m.state_dict().items()}
        return {"score": v if higher_is_better else -v}  # lower is better: the same evaluation is the best

    torch.manual_seed(0)
    cfg = TrainConfig(batch_size=8, batch_tokens=1000, tensorboard=False, progress=False, clip_norm=None, epochs=6,
                      lr=0.05, select="best")
    Trainer(Toy(), cfg, RunDir(tmp_path), 0, evaluate, "score", higher_is_better).fit(data)
    saved = _weights(tmp_path / "model.safetensors")
    assert all(torch.equal(saved[k], seen[5.0][k]) for k in saved)


@pytest.mark.parametrize("select", ["best", "loss", "last", "average"])
def test_every_select_mode_saves_the_same_weights_after_a_kill_and_resume(tmp_path, select):
    data, _, _ = toy_data()
    # One score per evaluation (every 4 steps); the lowest mse (0.5) and the lowest loss (10 - 9.0) come
    # before the kill, so a resume that forgot them would keep later weights.
    values = [3.0, 0.5, 9.0, 4.0, 5.0, 1.0, 6.0, 7.0, 2.5, 3.5, 1.5, 4.5]

    def scores(start: int = 0, die_at: int | None = None):
        it = iter(values[start:])

        def evaluate(m):
            if next_index[0] == die_at:
                raise KeyboardInterrupt
            next_index[0] += 1
            v = next(it)
            return {"mse": v, "loss": 10 - v}  # the lowest mse and the lowest loss fall on other evaluations

        next_index = [start]
        return evaluate

    cfg = dict(epochs=6, lr=0.05, select=select, eval_every=4, keep_checkpoints=3, average_last=3)
    make(_dir(tmp_path, "full"), scores(), **cfg).fit(data)
    with pytest.raises(KeyboardInterrupt):  # during the 5th evaluation (step 20): the newest checkpoint is step 16
        make(_dir(tmp_path, "part"), scores(die_at=4), **cfg).fit(data)
    assert len(list_checkpoints(RunDir(tmp_path / "part"))) == 3  # older checkpoints are there to fall back on
    resumed = make(tmp_path / "part", scores(start=4), **cfg)
    assert resumed.resume() and resumed.progress.step == 16  # the newest complete checkpoint, not step 0
    resumed.fit(data)
    full, part = _weights(tmp_path / "full" / "model.safetensors"), _weights(tmp_path / "part" / "model.safetensors")
    assert all(torch.equal(full[k], part[k]) for k in full)


def test_time_budgets_read_the_clock_the_processes_agree_on(tmp_path, monkeypatch):
    from nlpseq.train.distributed import Distributed

    class TwoRanks(Distributed):
        """Rank 0 of two whose peer's clock runs 60 s ahead: the all-reduced clock is the mean."""

        def sum(self, *values):
            return [2 * v + 60.0 for v in values]

    tr = make(tmp_path, epochs=100, max_minutes=2.0, schedule="budget_linear")
    tr.dist = TwoRanks(0, 2)
    tr._started = 0.0
    monkeypatch.setattr("nlpseq.train.trainer.time.perf_counter", lambda: 30.0)  # this rank: 30 s in
    assert tr.shared_elapsed() == 60.0  # (30 + 90) / 2
    assert tr.budget_used() == pytest.approx(0.5)  # 60 s of 120, not this rank's 30
    monkeypatch.setattr("nlpseq.train.trainer.time.perf_counter", lambda: 91.0)  # the mean passes 120 s
    assert tr._out_of_time()


def test_select_average_with_a_moving_average_averages_what_is_evaluated(tmp_path):
    data, _, _ = toy_data()
    tr = make(tmp_path, lambda m: {"mse": 1.0}, epochs=6, lr=0.05, ema=0.9, select="average", average_last=3,
              keep_checkpoints=3)
    tr.fit(data)
    states = [torch.load(c / "state.pt", weights_only=True)["average"] for c in list_checkpoints(RunDir(tmp_path))]
    raw = [_weights(c / "model.safetensors") for c in list_checkpoints(RunDir(tmp_path))]
    saved = _weights(tmp_path / "model.safetensors")
    for k in saved:
        ema_mean = sum(s[f"module.{k}"].double() for s in states) / 3
        assert torch.allclose(saved[k].double(), ema_mean, atol=1e-7)
        assert not torch.allclose(saved[k].double(), sum(r[k].double() for r in raw) / 3, atol=1e-4)
