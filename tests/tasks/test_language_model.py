import json

import pytest
import torch

import nlpseq
from nlpseq.errors import InputError
from nlpseq.recipe import load_recipe
from nlpseq.registry import MODELS

from ..conftest import ROOT, run_cli

RECIPE = ROOT / "recipes" / "lm" / "tiny_char.yaml"


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm") / "char"
    res = run_cli("train", str(RECIPE), "--out", str(out), "--set", "train.tensorboard=false")
    assert res.returncode == 0, res.stderr
    return out


def test_char_lm_learns_the_sample_and_reports_bits_per_character(lm_run):
    metrics = json.loads(run_cli("evaluate", str(lm_run), "--json").stdout)
    assert metrics["bpc"] == pytest.approx(metrics["loss"] / 0.6931, rel=1e-3)
    # A uniform guess over the sample's characters costs log2(vocab) ~ 5 bits; the model must do far better.
    assert metrics["bpc"] < 1.5


def test_generation_is_repeatable_with_a_seed_and_continues_the_prompt(lm_run):
    task, model = nlpseq.load_run(lm_run)
    a = task.generate(model, "A man", length=40, temperature=0.8, seed=3)
    assert a == task.generate(model, "A man", length=40, temperature=0.8, seed=3) and a.startswith("A man")
    res = run_cli("generate", str(lm_run), "--prompt", "A man", "--seed", "3", "--temperature", "0.8", "--length", "40")
    assert res.returncode == 0 and res.stdout.strip() == a
    with pytest.raises(InputError, match="temperature"):
        task.generate(model, "A man", temperature=0)


def test_next_word_pipeline_ranks_tokens_with_probabilities(lm_run):
    pipe = nlpseq.pipeline("next-word", model=lm_run)
    (ans,) = pipe("A man")
    probs = [n["probability"] for n in ans["next"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert ans["next"][0]["token"] == " "  # after "A man" the sample always has a space
    with pytest.raises(InputError, match="empty"):
        pipe("   ")


def test_truncated_bptt_carries_the_state_without_its_gradient():
    recipe = load_recipe(RECIPE)
    torch.manual_seed(0)
    model = MODELS.get("rnn_lm")(recipe.model, 20).train()
    x = torch.randint(4, 20, (2, 12))
    first = {"input": x[:, :6], "target": x[:, 1:7], "carry": False}
    second = {"input": x[:, 6:11], "target": x[:, 7:12], "carry": True}
    model(first)
    carried = model._carry
    assert all(not t.requires_grad for t in carried if isinstance(t, torch.Tensor))
    loss = model(second)["loss"]
    loss.backward()
    # The second chunk started from the first chunk's state: its loss differs from a fresh start.
    model._carry = None
    fresh = model({**second, "carry": None})["loss"]
    assert abs(float(loss.detach()) - float(fresh.detach())) > 1e-4


def test_tied_output_weights_save_and_load(tmp_path):
    from nlpseq.run import RunDir

    recipe = load_recipe(RECIPE, ["model.tie_weights=true", "model.embedding_dim=64"])
    model = MODELS.get("rnn_lm")(recipe.model, 30)
    x = torch.randint(4, 30, (2, 5))
    before = model.eval().run(x, torch.tensor([5, 5]))[0]
    run = RunDir(tmp_path)
    run.save_weights(model.state_dict())
    again = MODELS.get("rnn_lm")(recipe.model, 30)
    again.load_state_dict(run.load_weights())
    assert torch.allclose(again.eval().run(x, torch.tensor([5, 5]))[0], before)


def _final_weights(out):
    from safetensors.torch import load_file

    from nlpseq.train.checkpoint import list_checkpoints
    from nlpseq.run import RunDir

    return load_file(str(list_checkpoints(RunDir(out))[-1] / "model.safetensors"))


@pytest.mark.parametrize("cell", ["lstm", pytest.param("sru", marks=pytest.mark.slow)])
def test_dev_evaluations_in_mid_epoch_leave_the_carried_state_alone(tmp_path, cell):
    # The trainer evaluates the module it trains (no weight average here); the chunk after an
    # evaluation must still start from the previous chunk's state, so evaluating every 3 steps
    # changes nothing in training.
    common = ["--set", "train.max_steps=12", "--set", "train.tensorboard=false", "--set", f"model.cell={cell}",
              "--set", "train.checkpoint_every=12"]
    for name, every in (("often", "3"), ("never", "null")):
        res = run_cli("train", str(RECIPE), "--out", str(tmp_path / name), *common, "--set", f"train.eval_every={every}")
        assert res.returncode == 0, res.stderr
    often, never = _final_weights(tmp_path / "often"), _final_weights(tmp_path / "never")
    assert all(torch.equal(often[k], never[k]) for k in often)


def test_the_carried_state_is_in_every_checkpoint(tmp_path):
    from nlpseq.train.checkpoint import list_checkpoints
    from nlpseq.run import RunDir

    res = run_cli("train", str(RECIPE), "--out", str(tmp_path / "run"), "--set", "train.max_steps=4",
                  "--set", "train.checkpoint_every=2", "--set", "train.tensorboard=false")
    assert res.returncode == 0, res.stderr
    state = torch.load(list_checkpoints(RunDir(tmp_path / "run"))[-1] / "state.pt", weights_only=True)
    h, c = state["carried"]  # torch's LSTM: (h, c), one row per stream
    assert h.shape == c.shape == (1, 8, 64) and float(h.abs().sum()) > 0
