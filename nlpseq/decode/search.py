"""Greedy and beam search over a model with the ``encode`` / ``step`` / ``reorder`` API.

Every sentence of a batch and every beam of a sentence advance together as rows of one
tensor; there is no Python loop over sentences. A sentence's search never reads another
sentence's rows, so its output does not depend on the batch it is in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..text.vocab import Vocab


@dataclass
class Hypothesis:
    """One output: token ids (without specials), its length-normalised score and attention rows."""

    tokens: list[int]
    score: float
    attention: list[list[float]] = field(default_factory=list)


def _forbid(logp: torch.Tensor, allow_unk: bool) -> torch.Tensor:
    logp[:, Vocab.pad_id] = float("-inf")
    logp[:, Vocab.bos_id] = float("-inf")
    if not allow_unk:
        logp[:, Vocab.unk_id] = float("-inf")
    return logp


def max_lengths(src_len: torch.Tensor, a: float, b: int) -> torch.Tensor:
    """Longest output per sentence: ``a * source length + b``."""
    return (src_len.float() * a + b).long().clamp(min=1)


def length_penalty(length: torch.Tensor | int, alpha: float) -> torch.Tensor | float:
    """GNMT's ((5 + length) / 6) ** alpha; alpha 0 leaves raw log-probabilities."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.inference_mode()
def greedy_search(model, src: torch.Tensor, src_len: torch.Tensor, max_len_a: float = 1.5, max_len_b: int = 10,
                  allow_unk: bool = False, keep_attention: bool = False, alpha: float = 0.6) -> list[Hypothesis]:
    """The most likely token at each step, for a batch of sources; scored like beam search."""
    memory, state = model.encode(src, src_len)
    n = src.size(0)
    limits = max_lengths(src_len, max_len_a, max_len_b).to(src.device)
    tokens = torch.full((n,), Vocab.bos_id, dtype=torch.long, device=src.device)
    out = torch.full((n, int(limits.max()) + 1), Vocab.pad_id, dtype=torch.long, device=src.device)
    scores = torch.zeros(n, device=src.device)
    done = torch.zeros(n, dtype=torch.bool, device=src.device)
    attn = []
    for t in range(int(limits.max()) + 1):
        logp, weights, state = model.step(tokens, memory, state)
        logp = _forbid(logp, allow_unk)
        if t >= int(limits.max()):
            logp.fill_(float("-inf"))
        logp[t >= limits, :] = float("-inf")
        logp[t >= limits, Vocab.eos_id] = 0.0  # over the limit: end here
        best, tokens = logp.max(-1)
        scores += torch.where(done, torch.zeros_like(best), best)
        out[:, t] = torch.where(done, torch.full_like(tokens, Vocab.pad_id), tokens)
        if keep_attention:
            attn.append(weights)
        done |= tokens == Vocab.eos_id
        if bool(done.all()):
            break
    hyps = []
    for i in range(n):
        row = out[i].tolist()
        toks = row[: row.index(Vocab.eos_id)] if Vocab.eos_id in row else [t for t in row if t != Vocab.pad_id]
        a = [w[i, : int(src_len[i])].tolist() for w in attn[: len(toks) + 1]] if keep_attention else []
        hyps.append(Hypothesis(toks, float(scores[i]) / length_penalty(len(toks) + 1, alpha), a))
    return hyps


@torch.inference_mode()
def beam_search(model, src: torch.Tensor, src_len: torch.Tensor, beam: int = 5, n_best: int = 1,
                alpha: float = 0.6, max_len_a: float = 1.5, max_len_b: int = 10, allow_unk: bool = False,
                keep_attention: bool = False) -> list[list[Hypothesis]]:
    """Beam search for a batch of sources; returns the ``n_best`` hypotheses of each, best first.

    A hypothesis ends when it emits ``</s>``; its score is the summed log-probability divided by
    the GNMT length penalty with ``alpha``. A sentence stops once ``beam`` hypotheses have ended,
    and the search stops when every sentence has, or every row reached its length limit.
    """
    n, k = src.size(0), beam
    device = src.device
    memory, state = model.encode(src, src_len)
    memory = memory.repeat(k)
    rows = torch.arange(n * k, device=device)
    state = model.reorder(state, rows // k)
    limits = max_lengths(src_len, max_len_a, max_len_b).to(device)
    # Only the first beam of each sentence is live at the start, so the k beams do not start as copies.
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    tokens = torch.full((n * k,), Vocab.bos_id, dtype=torch.long, device=device)
    history = torch.zeros(n * k, 0, dtype=torch.long, device=device)
    attn_hist: list[torch.Tensor] = []
    finished: list[list[Hypothesis]] = [[] for _ in range(n)]
    open_sent = torch.ones(n, dtype=torch.bool, device=device)
    for t in range(int(limits.max()) + 1):
        logp, weights, state = model.step(tokens, memory, state)
        logp = _forbid(logp, allow_unk)
        over = (t >= limits).repeat_interleave(k)
        logp[over, :] = float("-inf")
        logp[over, Vocab.eos_id] = 0.0  # a row at its limit can only end
        vocab = logp.size(-1)
        cand = (scores.view(-1, 1) + logp).view(n, k * vocab)
        # 2k candidates: up to k of them may end, and k more keep every beam alive.
        top_scores, top_idx = cand.topk(min(2 * k, cand.size(1)), dim=1)
        origin, token = top_idx // vocab, top_idx % vocab
        is_eos = token == Vocab.eos_id
        lp = length_penalty(t + 1, alpha)
        if keep_attention:
            attn_hist.append(weights)
        # Record ended hypotheses (few per step: a short loop over the ended ones only). As in fairseq,
        # an ending counts only if it ranks among the k best candidates; lower ones would fill the
        # sentence's k slots with poor early endings before the good hypotheses finish.
        for s, j in is_eos[:, :k].nonzero().tolist():
            if not open_sent[s] or len(finished[s]) >= k or top_scores[s, j] == float("-inf"):
                continue
            row = s * k + int(origin[s, j])
            hist = history[row].tolist()
            # attn_hist is reordered with the beams, so row ``row`` holds this hypothesis's past.
            a = [w[row, : int(src_len[s])].tolist() for w in attn_hist] if keep_attention else []
            finished[s].append(Hypothesis(hist, float(top_scores[s, j]) / lp, a))
        # Continue with the best k candidates that did not end.
        alive_scores = top_scores.masked_fill(is_eos, float("-inf"))
        keep_scores, keep_pos = alive_scores.topk(k, dim=1)
        keep_origin = origin.gather(1, keep_pos)
        keep_token = token.gather(1, keep_pos)
        backptr = (torch.arange(n, device=device).unsqueeze(1) * k + keep_origin).view(-1)
        open_sent &= torch.tensor([len(f) < k for f in finished], device=device)
        scores = keep_scores.masked_fill(~open_sent.unsqueeze(1), float("-inf"))
        if not bool(open_sent.any()):
            break
        history = torch.cat([history.index_select(0, backptr), keep_token.view(-1, 1)], 1)
        if keep_attention:
            attn_hist = [w.index_select(0, backptr) for w in attn_hist]
        tokens = keep_token.view(-1)
        state = model.reorder(state, backptr)
    out = []
    for s in range(n):
        hyps = sorted(finished[s], key=lambda h: -h.score)[:n_best]
        out.append(hyps)
    return out

