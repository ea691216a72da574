import pytest
import torch

from nlpseq.errors import RecipeError
from nlpseq.train.config import TrainConfig
from nlpseq.train.optim import Schedule, build_optimizer, clip_gradients, l2_penalty


def test_weight_decay_is_decoupled_and_needs_adamw():
    p = torch.nn.Parameter(torch.ones(3))
    with pytest.raises(RecipeError, match="train.l2"):
        build_optimizer([p], TrainConfig(optimizer="adam", weight_decay=0.1))
    opt = build_optimizer([p], TrainConfig(optimizer="adamw", weight_decay=0.1, lr=0.1))
    p.grad = torch.zeros(3)
    opt.step()  # zero gradient: only the decoupled decay moves the weights
    assert torch.allclose(p.detach(), torch.full((3,), 1 - 0.1 * 0.1))


def test_l2_penalty_counts_weight_matrices_only():
    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.fill_(2.0)
        lin.bias.fill_(5.0)
    assert float(l2_penalty(lin, 0.5).detach()) == pytest.approx(0.5 * 0.5 * 16)
    assert l2_penalty(lin, 0.0) == 0.0


def test_l2_penalty_weights_the_matrices_a_model_names():
    class Two(torch.nn.Module):
        l2_multipliers = {"a.weight": 10.0}

        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(2, 2, bias=False), torch.nn.Linear(2, 2, bias=False)
            torch.nn.init.ones_(self.a.weight)
            torch.nn.init.ones_(self.b.weight)

    assert float(l2_penalty(Two(), 0.1).detach()) == pytest.approx(0.5 * 0.1 * (10 * 4 + 4))


def test_clipping_by_value_and_by_norm():
    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([3.0, -4.0, 0.5, 0.0])
    clip_gradients([p], TrainConfig(clip_value=1.0, clip_norm=None))
    assert p.grad.tolist() == [1.0, -1.0, 0.5, 0.0]
    p.grad = torch.tensor([3.0, 4.0, 0.0, 0.0])
    norm = clip_gradients([p], TrainConfig(clip_norm=1.0))
    assert norm == pytest.approx(5.0)
    assert float(p.grad.norm()) == pytest.approx(1.0, rel=1e-4)


def test_schedules():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    s = Schedule(opt, TrainConfig(schedule="inverse_sqrt", warmup_steps=4, lr=1.0))
    lrs = []
    for _ in range(16):
        lrs.append(s.lr)
        s.step()
    assert lrs[0] == pytest.approx(0.25) and lrs[3] == pytest.approx(1.0)
    assert lrs[15] == pytest.approx((4 / 15) ** 0.5)
    plateau = Schedule(opt, TrainConfig(schedule="plateau", plateau_patience=1, plateau_factor=0.5, lr=1.0))
    for v in (1.0, 0.5, 0.5):
        plateau.observe(v, higher_is_better=True)
    assert plateau.lr == pytest.approx(0.5)
    state = plateau.state_dict()
    again = Schedule(opt, TrainConfig(schedule="plateau", lr=1.0))
    again.load_state_dict(state)
    assert again.lr == pytest.approx(0.5)


def test_lr_multipliers_scale_the_named_parameters_through_the_schedule():
    model = torch.nn.Sequential(torch.nn.Embedding(4, 2), torch.nn.Linear(2, 2))
    cfg = TrainConfig(optimizer="sgd", lr=0.1, lr_multipliers={"0": 10.0}, schedule="warmup_linear", warmup_steps=2)
    opt = build_optimizer(model, cfg)
    sched = Schedule(opt, cfg)
    rates = {len(g["params"]): g["lr"] for g in opt.param_groups}
    assert rates == {1: pytest.approx(0.5), 2: pytest.approx(0.05)}  # embedding x10; half-way through warm-up
    assert sched.lr == pytest.approx(0.05)
    before = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    steps = [float((b - p.detach()).abs().max()) for b, p in zip(before, model.parameters())]
    assert steps == [pytest.approx(0.5), pytest.approx(0.05), pytest.approx(0.05)]


def test_lr_multipliers_naming_no_parameter_is_a_recipe_error():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    with pytest.raises(RecipeError, match="no parameter is named 'embed'"):
        build_optimizer(model, TrainConfig(lr_multipliers={"embed": 10.0}))
