"""The trainer on a toy regression: accumulation, early stopping, checkpoint pruning, metrics."""

import torch

from nlpseq.recipe import TrainConfig
from nlpseq.run import RunDir
from nlpseq.train.checkpoint import list_checkpoints
from nlpseq.train.trainer import Trainer, TrainData


class Toy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)

    def forward(self, batch):
        pred = self.lin(batch["x"]).squeeze(-1)
        return {"loss": ((pred - batch["y"]) ** 2).mean(), "units": batch["x"].size(0)}


def toy_data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return TrainData([1] * n, lambda idx: {"x": x[idx], "y": y[idx]}), x, y


def make(tmp_path, evaluate=None, **cfg):
    torch.manual_seed(0)
    base = {"batch_size": 8, "batch_tokens": 1000, "tensorboard": False, "progress": False, "clip_norm": None}
    return Trainer(Toy(), TrainConfig(**{**base, **cfg}), RunDir(tmp_path), 0, evaluate, "mse", False)


def test_accumulation_takes_one_step_per_k_batches(tmp_path):
    data, _, _ = toy_data()
    tr = make(tmp_path, epochs=2, accumulate=4)
    progress = tr.fit(data)
    assert progress["step"] == 2 * 64 // 8 // 4


def test_training_reduces_loss_and_logs_metrics(tmp_path):
    data, x, y = toy_data()
    model_mse = lambda m: {"mse": float(((m.lin(x).squeeze(-1) - y) ** 2).mean().detach())}  # noqa: E731
    tr = make(tmp_path, model_mse, epochs=30, lr=0.05)
    before = model_mse(tr.model)["mse"]
    tr.fit(data)
    records = RunDir(tmp_path).read_metrics()
    dev = [r["mse"] for r in records if r["split"] == "dev"]
    assert len(dev) == 30 and dev[-1] < before / 20
    assert any(r["split"] == "epoch" for r in records)
    assert (tmp_path / "model.safetensors").exists()


def test_early_stopping_and_checkpoint_pruning(tmp_path):
    data, _, _ = toy_data()
    tr = make(tmp_path, lambda m: {"mse": 1.0}, epochs=50, patience=3, keep_checkpoints=2)
    progress = tr.fit(data)
    assert progress["stopped"] and progress["epoch"] == 4  # best at the first evaluation, then 3 without gain
    assert len(list_checkpoints(RunDir(tmp_path))) == 2
