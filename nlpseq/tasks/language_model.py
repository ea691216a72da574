"""Language modelling: characters or words, bits per character and perplexity, sampling, next-word prediction."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field

from ..config import Count, Section
from ..data.batching import bucket_by_length, pad_sequences
from ..data.corpora import resolve_ref
from ..errors import InputError, RecipeError
from ..fileio import read_lines
from ..registry import TASKS
from ..run import VOCAB
from ..text import Vocab, get_tokenizer
from ..train.trainer import TrainData
from .base import Task, mean_loss


class NextToken(BaseModel):
    token: str
    probability: float


class NextWords(BaseModel):
    text: str
    next: list[NextToken]


@TASKS.register("language_model")
class LanguageModelTask(Task):
    """Predict the next character or word of each line of a text corpus.

    Two ways to train: with ``train.bptt`` unset, every line is one sequence and gradients
    flow through all of it (full BPTT over packed, variable-length batches); with
    ``train.bptt: T`` the corpus is one stream cut into ``train.batch_size`` parallel rows and
    chunks of T steps, the state carried from chunk to chunk and detached (truncated BPTT).
    """

    models = ("rnn_lm",)
    default_model = "rnn_lm"
    metric = "loss"
    higher_is_better = False

    pipelines = ("next-word",)

    class AnswerOptions(Section):
        k: int = Field(5, ge=1, le=1000, description="how many of the likeliest next tokens")

    Answer = NextWords

    class DataConfig(Section):
        train: str = Field("multi30k:train", description=(
            "corpus:split or a text file, one line per sentence or paragraph"))
        dev: str = Field("multi30k:val", description="dev text: a path or corpus reference")
        lang: str = Field("en", description="the side of a parallel corpus")
        max_chars: Count = Field(2000, description="longest prompt the pipeline accepts")

    class TextConfig(Section):
        level: Literal["char", "word"] = Field("char", description="predict characters or words")
        lowercase: bool = Field(False, description="lowercase the text first")
        min_freq: Count = Field(1, description="rarer tokens become <unk>")
        max_size: Count | None = Field(None, description=(
            "most tokens in the vocabulary (the commonest kept); null: all"))

    def _lines(self, ref: str) -> list[str]:
        return [line for line in read_lines(resolve_ref(ref, self.recipe.data.lang)) if line.strip()]

    def _tokenizer(self):
        t = self.recipe.text
        return get_tokenizer("char" if t.level == "char" else "ptb", t.lowercase)

    def _encode(self, lines: list[str]) -> list[list[int]]:
        tok = self._tokenizer()
        return [self.vocab.encode(tok.tokenize(line)) for line in lines]

    # -- training --------------------------------------------------------------------------------
    def prepare(self) -> tuple[TrainData, list[list[int]]]:
        d, t, cfg = self.recipe.data, self.recipe.text, self.recipe.train
        lines = self._lines(d.train)
        tok = self._tokenizer()
        if self.writes_run:
            self.vocab = Vocab.build((tok.tokenize(x) for x in lines), t.min_freq, t.max_size)
            self.vocab.save(self.run / VOCAB)
        else:  # a distributed rank other than 0 uses the vocabulary rank 0 built
            self.vocab = Vocab.load(self.run / VOCAB)
        seqs = self._encode(lines)
        dev = self._encode(self._lines(d.dev))
        if cfg.bptt:
            return self._stream_data(seqs, cfg.batch_size, cfg.bptt), dev

        def make_batch(idx: list[int]) -> dict:
            return self.collate([seqs[i] for i in idx])

        return TrainData([len(s) + 1 for s in seqs], make_batch), dev

    @staticmethod
    def _stream_data(seqs: list[list[int]], rows: int, bptt: int) -> TrainData:
        stream = torch.tensor([i for s in seqs for i in (*s, Vocab.eos_id)], dtype=torch.long)
        width = (len(stream) - 1) // rows
        if width < bptt + 1:
            raise RecipeError(f"train.bptt {bptt} x train.batch_size {rows} needs more text than the "
                              f"{len(stream)} tokens of the training data")
        inputs = stream[: rows * width].view(rows, width)
        targets = stream[1 : rows * width + 1].view(rows, width)
        chunks = width // bptt

        def make_batch(idx: list[int]) -> dict:
            (i,) = idx
            cut = slice(i * bptt, (i + 1) * bptt)
            return {"input": inputs[:, cut], "target": targets[:, cut], "carry": i > 0}

        return TrainData([bptt * rows] * chunks, make_batch)

    @staticmethod
    def collate(seqs: list[list[int]]) -> dict:
        # A line starts after an end of line, as it does inside the training stream.
        x, lengths = pad_sequences([[Vocab.eos_id] + s for s in seqs])
        y, _ = pad_sequences([s + [Vocab.eos_id] for s in seqs])
        return {"input": x, "target": y, "lengths": lengths}

    def model_args(self) -> dict[str, Any]:
        return {"vocab_size": len(self.vocab)}

    def info(self) -> dict[str, Any]:
        return {"level": self.recipe.text.level}

    def load_text(self) -> None:
        self.vocab = Vocab.load(self.run / VOCAB)

    # -- evaluation ------------------------------------------------------------------------------
    def read_eval(self, ref: str | None, **kwargs: Any) -> list[list[int]]:
        return self._encode(self._lines(ref or self.recipe.data.dev))

    def check_eval_data(self, ref: str | None) -> None:
        self._lines(ref or self.recipe.data.dev)  # encoding needs the vocabulary, which training builds

    def evaluate(self, model: torch.nn.Module, data: list[list[int]], plot: str | None = None) -> dict[str, float]:
        """Mean loss per predicted token (every line's end included), with bits per token and perplexity.

        A model trained on a stream (``train.bptt``) is scored the same way: the held-out lines
        joined into one stream, read in chunks with the state carried; otherwise line by line.
        """
        if self.recipe.train.bptt:
            stream = torch.tensor([Vocab.eos_id] + [i for s in data for i in (*s, Vocab.eos_id)])
            chunk = 1000
            batches = [{"input": stream[None, i : i + chunk], "target": stream[None, i + 1 : i + chunk + 1],
                        "carry": i > 0} for i in range(0, len(stream) - 1, chunk)]
            batches[-1]["input"] = batches[-1]["input"][:, : batches[-1]["target"].size(1)]
        else:
            batches = [self.collate([data[i] for i in idx])
                       for idx in bucket_by_length([len(s) + 1 for s in data], 8000, 256, shuffle=False)]
        loss, units = mean_loss(model, batches)
        model._carry = None  # evaluation must not leave its state for the next training chunk
        name = "bpc" if self.recipe.text.level == "char" else "bits_per_word"
        return {"loss": loss, name: loss / math.log(2), "perplexity": math.exp(min(loss, 50)), "tokens": units,
                "count": len(data)}

    # -- inference -------------------------------------------------------------------------------
    def _prompt_ids(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise InputError(f"the prompt is a {type(text).__name__}, not a string")
        if len(text) > self.recipe.data.max_chars:
            raise InputError(f"the prompt has {len(text)} characters, over the limit of {self.recipe.data.max_chars}")
        return [Vocab.eos_id] + self.vocab.encode(self._tokenizer().tokenize(text))

    def next_tokens(self, model: torch.nn.Module, text: str, k: int = 5) -> list[dict[str, Any]]:
        """The ``k`` likeliest next tokens after ``text``, with their probabilities."""
        ids = self._prompt_ids(text)
        with torch.inference_mode():
            logits, _ = model.eval().run(torch.tensor([ids]), torch.tensor([len(ids)]))
        probs = _next_token_probabilities(logits)
        top = probs.topk(min(k, len(self.vocab)))
        return [{"token": "\n" if i == Vocab.eos_id else self.vocab.itos[i], "probability": p}
                for p, i in zip(top.values.tolist(), top.indices.tolist())]

    def generate(self, model: torch.nn.Module, prompt: str = "", length: int = 200, temperature: float = 1.0,
                 seed: int | None = None) -> str:
        """``prompt`` continued by sampling up to ``length`` tokens (or to the end of the line)."""
        if temperature <= 0:
            raise InputError("the temperature must be above 0")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        ids = self._prompt_ids(prompt)
        out: list[int] = []
        model.eval()
        with torch.inference_mode():
            logits, state = model.run(torch.tensor([ids]), torch.tensor([len(ids)]))
            for _ in range(length):
                nxt = int(torch.multinomial(_next_token_probabilities(logits, temperature), 1, generator=gen))
                if nxt == Vocab.eos_id:
                    break
                out.append(nxt)
                logits, state = model.run(torch.tensor([[nxt]]), torch.tensor([1]), state)
        words = self.vocab.decode(out)
        if self.recipe.text.level == "char":
            return prompt + "".join(words)
        tok = self._tokenizer()
        return tok.detokenize(tok.tokenize(prompt) + words)

    def answer(self, model: torch.nn.Module, inputs: Any, k: int = 5) -> list[dict[str, Any]]:
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, (list, tuple)):
            raise InputError(f"expected a string or a list of strings, got {type(inputs).__name__}")
        answers = []
        for i, t in enumerate(texts):
            if not isinstance(t, str) or not t.strip():
                raise InputError(f"text {i} is empty or not a string: next-word prediction needs a prompt")
            answers.append({"text": t, "next": self.next_tokens(model, t, k)})
        return answers


def _next_token_probabilities(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The distribution after the last position of ``logits`` (1, time, vocab); specials other than </s> never come next."""
    probs = torch.softmax(logits[0, -1].float() / temperature, -1)
    probs[[Vocab.pad_id, Vocab.bos_id, Vocab.unk_id]] = 0
    return probs
