"""Greedy and beam search over a model with the ``encode`` / ``step`` / ``reorder`` API.

Every sentence of a batch and every beam of a sentence advance together as rows of one
tensor; there is no Python loop over sentences. A sentence's search never reads another
sentence's rows, so its output does not depend on the batch it is in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ..contracts import StepDecoder
from ..text.vocab import Vocab
from .config import DecodeConfig


@dataclass
class Hypothesis:
    """One output: token ids (without specials), its length-normalised score and attention rows."""

    tokens: list[int]
    score: float
    attention: list[list[float]] = field(default_factory=list)


def _allowed(logp: torch.Tensor, allow_unk: bool, over: torch.Tensor) -> torch.Tensor:
    """One step's log-probabilities with what may not be emitted masked: padding, ``<s>``, ``<unk>``
    (unless allowed), and for rows at their length limit (``over``) everything but ``</s>``."""
    logp[:, Vocab.pad_id] = float("-inf")
    logp[:, Vocab.bos_id] = float("-inf")
    if not allow_unk:
        logp[:, Vocab.unk_id] = float("-inf")
    if bool(over.any()):  # rare: a boolean index over every row costs a whole-vocabulary pass
        logp[over, :] = float("-inf")
        logp[over, Vocab.eos_id] = 0.0  # a row at its limit can only end
    return logp


def _encode(model: StepDecoder, src: torch.Tensor, src_len: torch.Tensor, vocab: torch.Tensor | None):
    if vocab is None:
        return model.encode(src, src_len)
    # The searches mask the special symbols by id: in a shortlist they must sit at their own ids.
    specials = torch.arange(Vocab.eos_id + 1, device=vocab.device)
    if len(vocab) <= Vocab.eos_id or not bool((vocab[: len(specials)] == specials).all()):
        raise ValueError("a shortlist must start with the special symbols' ids 0-3")
    return model.encode(src, src_len, vocab)


def endings_needed(beam: int, patience: float) -> int:
    """How many ended hypotheses a sentence's beam search collects before it stops."""
    return math.ceil(patience * beam)


def max_lengths(src_len: torch.Tensor, a: float, b: int) -> torch.Tensor:
    """Longest output per sentence: ``a * source length + b``."""
    return (src_len.float() * a + b).long().clamp(min=1)


def length_penalty(length: torch.Tensor | int, alpha: float) -> torch.Tensor | float:
    """GNMT's ((5 + length) / 6) ** alpha; alpha 0 leaves raw log-probabilities."""
    return ((5.0 + length) / 6.0) ** alpha


def coverage_penalty(coverage: torch.Tensor, beta: float) -> torch.Tensor:
    """GNMT's beta * sum_i log(min(attention received by source position i, 1)), over valid positions.

    ``coverage`` holds each source position's summed attention; padding positions must hold 1
    (or more) so that they add nothing. The penalty is 0 or negative: it lowers hypotheses that
    left part of the source unattended (untranslated).
    """
    return beta * coverage.clamp(min=1e-6, max=1.0).log().sum(-1)


@torch.inference_mode()
def greedy_search(model: StepDecoder, src: torch.Tensor, src_len: torch.Tensor, cfg: DecodeConfig | None = None, *,
                  allow_unk: bool = False, keep_attention: bool = False, vocab: torch.Tensor | None = None
                  ) -> list[Hypothesis]:
    """The most likely token at each step, for a batch of sources; scored like beam search (``cfg.alpha``),
    at most ``cfg.max_len_a * length + cfg.max_len_b`` pieces; ``vocab``: a shortlist of target ids
    (sorted, with the special symbols) to choose from.

    Sentences that have ended leave the batch, so the steps that remain compute only open ones.
    """
    cfg = cfg or DecodeConfig()
    max_len_a, max_len_b, alpha = cfg.max_len_a, cfg.max_len_b, cfg.alpha
    memory, state = _encode(model, src, src_len, vocab)
    n, device = src.size(0), src.device
    limits = max_lengths(src_len, max_len_a, max_len_b).to(device)
    steps = int(limits.max()) + 1
    tokens = torch.full((n,), Vocab.bos_id, dtype=torch.long, device=device)
    out = torch.full((n, steps), Vocab.pad_id, dtype=torch.long, device=device)
    scores = torch.zeros(n, device=device)
    attn = src.new_zeros((n, steps, src.size(1)), dtype=torch.float) if keep_attention else None
    active = torch.arange(n, device=device)  # the sentence of each row still decoding
    for t in range(steps):
        logp, weights, state = model.step(tokens, memory, state)
        logp = _allowed(logp, allow_unk, t >= limits)
        best, tokens = logp.max(-1)
        if vocab is not None:
            tokens = vocab[tokens]
        scores[active] += best
        out[active, t] = tokens
        if keep_attention:
            attn[active, t] = weights.float()
        live = tokens != Vocab.eos_id
        if not bool(live.any()):
            break
        if not bool(live.all()):
            keep = live.nonzero().squeeze(1)
            active, tokens, limits = active[keep], tokens[keep], limits[keep]
            memory, state = memory.select(keep), model.reorder(state, keep)
    hyps = []
    for i in range(n):
        row = out[i].tolist()
        toks = row[: row.index(Vocab.eos_id)] if Vocab.eos_id in row else [t for t in row if t != Vocab.pad_id]
        a = attn[i, : len(toks) + 1, : int(src_len[i])].tolist() if keep_attention else []
        hyps.append(Hypothesis(toks, float(scores[i]) / length_penalty(len(toks) + 1, alpha), a))
    return hyps


@torch.inference_mode()
def beam_search(model: StepDecoder, src: torch.Tensor, src_len: torch.Tensor, cfg: DecodeConfig | None = None, *,
                n_best: int = 1, beam: int | None = None, allow_unk: bool = False,
                keep_attention: bool = False, vocab: torch.Tensor | None = None) -> list[list[Hypothesis]]:
    """Beam search for a batch of sources; returns the ``n_best`` hypotheses of each, best first.

    The settings come from ``cfg`` (beam size, ``alpha``, ``beta``, ``patience``, length limits);
    ``beam`` overrides its beam size for this call; ``vocab`` is a shortlist of target ids (sorted, with
    the special symbols) to choose from.

    A hypothesis ends when it emits ``</s>``; its score is the summed log-probability divided by
    the GNMT length penalty with ``alpha``, plus GNMT's coverage penalty with ``beta`` (0: none),
    which ranks the ended hypotheses (the search itself extends the likeliest). A sentence stops
    once ``ceil(patience * beam)`` hypotheses have ended (the patience factor of Kasai et al. 2022;
    1: fairseq's rule) and then leaves the batch (its rows are no longer computed); the search
    stops when every sentence has, or every row reached its length limit. ``beam`` rows per
    sentence are searched whatever the patience: a patience above 1 only waits for more endings,
    which the length penalty may rank above the early ones.
    """
    cfg = cfg or DecodeConfig()
    k = cfg.beam if beam is None else beam
    need = endings_needed(k, cfg.patience)
    beams = _Beams.start(model, src, src_len, k, cfg, keep_attention, vocab)
    finished: list[list[Hypothesis]] = [[] for _ in range(src.size(0))]
    for t in range(int(beams.limits.max()) + 1):
        logp, weights, beams.state = model.step(beams.tokens, beams.memory, beams.state)
        logp = _allowed(logp, allow_unk, (t >= beams.limits).repeat_interleave(k))
        top_scores, origin, token = beams.candidates(logp)
        if vocab is not None:
            token = vocab[token]
        beams.attend(weights)
        beams.record_endings(finished, top_scores, origin, token, t, cfg, need, src_len)
        still_open = torch.tensor([len(finished[g]) < need for g in beams.ids], device=src.device)
        if not bool(still_open.any()):
            break
        beams.advance(model, top_scores, origin, token, still_open)
    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]


@dataclass
class _Beams:
    """The rows beam search still extends: ``k`` per open sentence (``ids``), with their scores, last
    tokens, histories, decoder state and memory, and what the penalties and attention output need."""

    k: int
    ids: list[int]  # the sentence of each group of k rows
    scores: torch.Tensor  # (open sentences, k) summed log-probabilities
    tokens: torch.Tensor  # (rows,) the last token of each row
    history: torch.Tensor  # (rows, steps) tokens so far
    limits: torch.Tensor  # (open sentences,) most pieces each may emit
    memory: Any
    state: Any
    coverage: torch.Tensor | None  # (rows, source) attention received so far (coverage penalty only)
    attn_hist: list[torch.Tensor] | None  # per step, (rows, source) attention (kept only when asked for)

    @classmethod
    def start(cls, model: StepDecoder, src: torch.Tensor, src_len: torch.Tensor, k: int, cfg: DecodeConfig,
              keep_attention: bool, vocab: torch.Tensor | None) -> "_Beams":
        n, device = src.size(0), src.device
        memory, state = _encode(model, src, src_len, vocab)
        state = model.reorder(state, torch.arange(n * k, device=device) // k)
        # Only the first beam of each sentence is live at the start, so the k beams do not start as copies.
        scores = torch.full((n, k), float("-inf"), device=device)
        scores[:, 0] = 0.0
        coverage = None
        if cfg.beta:  # padding positions start at 1, so that the penalty ignores them
            pad = torch.arange(src.size(1), device=device) >= src_len.to(device).unsqueeze(1)
            coverage = pad.float().repeat_interleave(k, 0)
        return cls(k, list(range(n)), scores, torch.full((n * k,), Vocab.bos_id, dtype=torch.long, device=device),
                   torch.zeros(n * k, 0, dtype=torch.long, device=device),
                   max_lengths(src_len, cfg.max_len_a, cfg.max_len_b).to(device), memory.repeat(k), state, coverage,
                   [] if keep_attention else None)

    def candidates(self, logp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per open sentence, the 2k best (score, origin row within its k, token) extensions: up to k of
        them may end, and k more keep every beam alive."""
        vocab = logp.size(-1)
        cand = (self.scores.view(-1, 1) + logp).view(len(self.ids), self.k * vocab)
        top_scores, top_idx = cand.topk(min(2 * self.k, cand.size(1)), dim=1)
        return top_scores, top_idx // vocab, top_idx % vocab

    def attend(self, weights: torch.Tensor) -> None:
        if self.attn_hist is not None:
            self.attn_hist.append(weights)
        if self.coverage is not None:
            self.coverage = self.coverage + weights.float()

    def record_endings(self, finished: list[list[Hypothesis]], top_scores: torch.Tensor, origin: torch.Tensor,
                       token: torch.Tensor, t: int, cfg: DecodeConfig, need: int, src_len: torch.Tensor) -> None:
        """File the hypotheses that end at step ``t``. As in fairseq, an ending counts only if it ranks among
        the k best candidates; lower ones would fill the sentence's k slots with poor early endings before
        the good hypotheses finish (few per step: a short loop over the ended ones only)."""
        k, lp = self.k, length_penalty(t + 1, cfg.alpha)
        ended = (token[:, :k] == Vocab.eos_id).nonzero()
        if not len(ended):
            return
        s_idx, j_idx = ended.unbind(1)
        rows = s_idx * k + origin[s_idx, j_idx]  # attn_hist is reordered with the beams: row holds its past
        raw = top_scores[s_idx, j_idx]
        scores = raw / lp
        if self.coverage is not None:
            scores = scores + coverage_penalty(self.coverage[rows], cfg.beta)
        histories = self.history[rows].tolist()
        for i, (s, row, live, score) in enumerate(zip(s_idx.tolist(), rows.tolist(), (raw > float("-inf")).tolist(),
                                                      scores.tolist())):
            g = self.ids[s]
            if len(finished[g]) >= need or not live:
                continue
            a = [w[row, : int(src_len[g])].tolist() for w in self.attn_hist] if self.attn_hist is not None else []
            finished[g].append(Hypothesis(histories[i], score, a))

    def advance(self, model: StepDecoder, top_scores: torch.Tensor, origin: torch.Tensor, token: torch.Tensor,
                still_open: torch.Tensor) -> None:
        """Continue with the best k candidates that did not end; finished sentences leave the batch."""
        k, m, device = self.k, len(self.ids), top_scores.device
        keep_scores, keep_pos = top_scores.masked_fill(token == Vocab.eos_id, float("-inf")).topk(k, dim=1)
        keep_token = token.gather(1, keep_pos).view(-1)
        backptr = (torch.arange(m, device=device).unsqueeze(1) * k + origin.gather(1, keep_pos)).view(-1)
        if not bool(still_open.all()):
            sent = still_open.nonzero().squeeze(1)
            rows = (sent.unsqueeze(1) * k + torch.arange(k, device=device)).view(-1)
            keep_scores, keep_token, backptr = keep_scores[sent], keep_token[rows], backptr[rows]
            self.limits = self.limits[sent]
            self.memory = self.memory.select(backptr)  # rows of one sentence share its memory: any of them will do
            self.ids = [self.ids[i] for i in sent.tolist()]
        self.scores = keep_scores
        self.history = torch.cat([self.history.index_select(0, backptr), keep_token.view(-1, 1)], 1)
        if self.attn_hist is not None:
            self.attn_hist = [w.index_select(0, backptr) for w in self.attn_hist]
        if self.coverage is not None:
            self.coverage = self.coverage.index_select(0, backptr)
        self.tokens = keep_token
        self.state = model.reorder(self.state, backptr)
