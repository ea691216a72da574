"""The worked examples of docs/extending.md: a new recurrent cell, a new model for an existing task and
a new task, each defined here, registered, trained from a recipe and used (the task also from the CLI
and over HTTP), with no edit anywhere in the package."""

import json
import random
from typing import Literal

import pytest
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from torch import nn

import nlpseq
from nlpseq import cli
from nlpseq.api import train
from nlpseq.config import Section
from nlpseq.contracts import TextClassifier
from nlpseq.data.batching import pad_sequences
from nlpseq.errors import InputError
from nlpseq.fileio import read_lines
from nlpseq.nn.cells import Cell
from nlpseq.recipe import load_recipe
from nlpseq.registry import CELLS, MODELS, TASKS
from nlpseq.run import VOCAB
from nlpseq.tasks.base import Task
from nlpseq.text.vocab import Vocab
from nlpseq.train.trainer import TrainData

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from nlpseq.serve import create_app, load_served  # noqa: E402

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


# -- a model for an existing task ------------------------------------------------------------------
@MODELS.register("toy_bag")
class BagOfWords(nn.Module):
    """Mean of word vectors, then a linear layer: a model another package adds to the sentiment task."""

    tasks = ("sentiment", "toy_length")  # the tasks it serves, so no task has to list it

    class Config(Section):
        name: Literal["toy_bag"] = "toy_bag"
        embedding_dim: int = 16

    def __init__(self, cfg: Config, vocab_size: int, num_labels: int) -> None:
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab_size, cfg.embedding_dim, mode="mean", padding_idx=0)
        self.out = nn.Linear(cfg.embedding_dim, num_labels)

    def logits(self, ids, lengths, ngrams=None):
        return self.out(self.embed(ids))

    def forward(self, batch):
        logits = self.logits(batch["ids"], batch["lengths"])
        return {"loss": F.cross_entropy(logits, batch["labels"]), "units": logits.size(0)}


def test_a_model_defined_outside_the_package_serves_an_existing_task(tmp_path):
    recipe = load_recipe(TINY_RECIPE, ["model={name: toy_bag, embedding_dim: 8}", "train.epochs=2",
                                       "train.threads=1", "train.tensorboard=false", "train.progress=false"])
    run = train(recipe, tmp_path / "bag")
    task, model = nlpseq.load_run(run.path)
    assert isinstance(model, BagOfWords) and isinstance(model, TextClassifier)
    assert 0 <= task.evaluate(model, task.read_eval(None))["accuracy"] <= 100
    answer = nlpseq.pipeline("sentiment-analysis", model=run.path)("a very good film")[0]
    assert answer["label"] in task.label_names


# -- a whole new task --------------------------------------------------------------------------------
class LengthAnswer(BaseModel):
    label: str
    score: float
    words: int | None = None


@TASKS.register("toy_length")
class LengthTask(Task):
    """Says whether a text is long (more than ``data.threshold`` words), learning it from examples."""

    models = ("toy_bag",)
    default_model = "toy_bag"
    metric = "accuracy"
    pipelines = ("toy-length",)
    verb, verb_help = "toy-length", "say whether each text is long"
    Answer = LengthAnswer
    label_names = ["short", "long"]

    class DataConfig(Section):
        train: str
        dev: str
        threshold: int = 4

    class TextConfig(Section):
        pass

    class AnswerOptions(Section):
        count: bool = Field(False, description="also give the number of words")

    def _labels(self, texts):
        return [int(len(t.split()) > self.recipe.data.threshold) for t in texts]

    def _batch(self, texts):
        ids, lengths = pad_sequences([self.vocab.encode(t.split()) or [self.vocab.unk_id] for t in texts])
        return {"ids": ids, "lengths": lengths, "labels": torch.tensor(self._labels(texts))}

    def prepare(self):
        texts = read_lines(self.recipe.data.train)
        self.vocab = Vocab.build([t.split() for t in texts])
        self.vocab.save(self.run / VOCAB)
        return TrainData([len(t.split()) for t in texts], lambda idx: self._batch([texts[i] for i in idx])), \
            self.read_eval(None)

    def model_args(self):
        return {"vocab_size": len(self.vocab), "num_labels": 2}

    def load_text(self):
        self.vocab = Vocab.load(self.run / VOCAB)

    def read_eval(self, ref, **kwargs):
        return read_lines(ref or self.recipe.data.dev)

    def evaluate(self, model, data, plot=None):
        batch = self._batch(data)
        with torch.inference_mode():
            loss = float(model.eval()(batch)["loss"])
            predicted = model.logits(batch["ids"], batch["lengths"]).argmax(-1)
        right = int((predicted == batch["labels"]).sum())
        return {"accuracy": 100 * right / len(data), "loss": loss, "count": len(data)}

    def answer(self, model, inputs, count=False):
        texts = [inputs] if isinstance(inputs, str) else inputs
        for i, t in enumerate(texts):
            if not t.split():
                raise InputError(f"text {i} has no words")
        with torch.inference_mode():
            batch = self._batch(texts)
            probs = torch.softmax(model.eval().logits(batch["ids"], batch["lengths"]), -1)
        answers = []
        for t, row in zip(texts, probs.tolist()):
            best = max(range(2), key=row.__getitem__)
            answers.append({"label": self.label_names[best], "score": row[best],
                            **({"words": len(t.split())} if count else {})})
        return answers


def _length_recipe(tmp_path):
    words = "the a dog cat runs sleeps in park house red big small over under".split()
    rng = random.Random(0)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 9))) for _ in range(300)]
    (tmp_path / "train.txt").write_text("\n".join(lines[:240]) + "\n", encoding="utf-8")
    (tmp_path / "dev.txt").write_text("\n".join(lines[240:]) + "\n", encoding="utf-8")
    recipe = tmp_path / "length.yaml"
    recipe.write_text(f"task: toy_length\nseed: 1\ndata: {{train: {tmp_path / 'train.txt'}, dev: {tmp_path / 'dev.txt'}}}\n"
                      "model: {name: toy_bag, embedding_dim: 16}\n"
                      "train: {epochs: 30, batch_size: 16, lr: 0.05, threads: 1, tensorboard: false, progress: false}\n",
                      encoding="utf-8")
    return recipe


def test_a_task_defined_outside_the_package_trains_and_answers_in_the_pipeline_cli_and_service(tmp_path, capsys):
    run = train(load_recipe(_length_recipe(tmp_path)), tmp_path / "run")
    task, model = nlpseq.load_run(run.path)
    assert task.evaluate(model, task.read_eval(None))["accuracy"] > 60  # a bag of words learns length a little
    # the pipeline, with the options the task declares
    pipe = nlpseq.pipeline("toy-length", model=run.path)
    assert pipe("the dog runs", count=True)[0]["words"] == 3
    with pytest.raises(InputError, match="option 'beam'"):
        pipe("the dog", beam=2)
    # the CLI verb, built from LengthTask.verb and its AnswerOptions
    assert cli.main(["toy-length", str(run.path), "--count", "the big red dog runs over the house"]) == 0
    assert json.loads(capsys.readouterr().out)["words"] == 8
    # the HTTP endpoint, its request and response from the same declarations
    served = load_served("length", run.path, in_process=True)
    with TestClient(create_app({"length": served})) as client:
        res = client.post("/v1/length", json={"texts": ["a dog", "the cat sleeps in the red house"], "count": True})
        assert res.status_code == 200, res.text
        assert [r["words"] for r in res.json()["results"]] == [2, 7]
        res = client.post("/v1/length", json={"text": "   "})
        assert res.status_code == 422 and "no words" in res.json()["error"]
        res = client.post("/v1/length", json={"text": "a dog", "count": "many"})
        assert res.status_code == 422 and "count" in res.json()["error"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert "count" in schema["LengthRequest"]["properties"] and "words" in schema["LengthAnswer"]["properties"]


PLUGIN_TASK = '''

@TASKS.register("plug_sentiment")
class PlugSentiment(SentimentTask):
    pipelines = ("plug-sentiment",)
    verb = None
'''


def _plugin_source() -> str:
    """A plugin module: the worked example's cell (its source, registered under another name) and a task."""
    import inspect

    cell = inspect.getsource(MinimalGatedUnit).replace('@CELLS.register("toy_mgu")', '@CELLS.register("plug_mgu")')
    head = ("import torch\nfrom torch import nn\n\nfrom nlpseq.nn.cells import Cell\n"
            "from nlpseq.registry import CELLS, TASKS\nfrom nlpseq.tasks.sentiment import SentimentTask\n\n\n")
    return head + cell + PLUGIN_TASK


def test_a_plugin_installed_as_a_distribution_registers_a_cell_and_a_task(tmp_path):
    """The plugin is found as an installed distribution is: its dist-info on the path names its entry point."""
    import subprocess
    import sys

    from .conftest import ROOT

    site = tmp_path / "site"
    (site / "toyplug").mkdir(parents=True)
    (site / "toyplug" / "__init__.py").write_text(_plugin_source())
    info = site / "toyplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[nlpseq.plugins]\ntoyplug = toyplug\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    run = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "nlpseq.cli", "train", str(TINY_RECIPE), "--out", str(run),
                          "--set", "model.cell=plug_mgu", "--set", "train.epochs=1", "--set", "train.threads=1",
                          "--set", "train.tensorboard=false", "--quiet"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([sys.executable, "-c", "from nlpseq.registry import TASKS, CELLS; "
                          "print('plug_sentiment' in TASKS, 'plug_mgu' in CELLS)"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and res.stdout.split() == ["True", "True"], res.stderr
