"""The worked example of docs/extending.md: a new recurrent cell, defined here, registered, trained
from a recipe and used, with no edit anywhere in the package."""

import torch
from torch import nn

import nlpseq
from nlpseq.api import train
from nlpseq.nn.cells import Cell
from nlpseq.recipe import load_recipe
from nlpseq.registry import CELLS

from .conftest import TINY_RECIPE


@CELLS.register("toy_mgu")
class MinimalGatedUnit(Cell):
    """Minimal gated unit (Zhou et al. 2016): one forget gate f; h_t = (1 - f) h_{t-1} + f tanh(W x + U (f h))."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, 2 * hidden_size  # f and the candidate, from x
        self.U_f = nn.Linear(hidden_size, hidden_size, bias=False)
        self.U_h = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, xw, state, rec_mask=None):
        h = state[0]
        xf, xh = xw.chunk(2, -1)
        f = torch.sigmoid(xf + self.U_f(h))
        candidate = self.candidate_dropout(torch.tanh(xh + self.U_h(f * h)), rec_mask)
        return ((1 - f) * h + f * candidate,)


def test_a_cell_defined_outside_the_package_trains_from_a_recipe_and_answers(tmp_path):
    recipe = load_recipe(TINY_RECIPE, ["model.cell=toy_mgu", "model.zoneout=0.1", "train.epochs=2",
                                       "train.threads=1", "train.tensorboard=false", "train.progress=false"])
    run = train(recipe, tmp_path / "mgu")
    task, model = nlpseq.load_run(run.path)
    layer = model.encoder.rnn.layers[0][0]
    assert isinstance(layer.cell, MinimalGatedUnit)
    metrics = task.evaluate(model, task.read_eval(None))
    assert 0 <= metrics["accuracy"] <= 100 and metrics["count"] > 0
    answer = nlpseq.pipeline("sentiment", model=run.path)(["a very good film"])[0]
    assert answer["label"] in task.label_names and abs(sum(answer["scores"].values()) - 1) < 1e-4
