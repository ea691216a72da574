"""Translate with an exported translator (``nlpseq export RUN --format onnx``) through onnxruntime.

This module imports only numpy, onnxruntime and sentencepiece, never torch or the rest of nlpseq: the
export copies it into its folder, so ``python run_onnx.py FOLDER < input.txt`` runs where PyTorch is not
installed. The searches follow nlpseq's own (:mod:`nlpseq.decode.search`): the same length limits,
GNMT length and coverage penalties, patience and fairseq's rule for ended hypotheses, so a sentence
gets the tokens the PyTorch path gives it. Minimum Bayes risk reranking is not done here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

PAD, UNK, BOS, EOS = 0, 1, 2, 3
NEG_INF = np.float32(-np.inf)


def _length_penalty(length: int, alpha: float) -> float:
    return ((5.0 + length) / 6.0) ** alpha


class OnnxTranslator:
    """The exported encoder and decoder step, the two SentencePiece models and the decoding settings.

    Args:
        folder: what ``nlpseq export RUN --format onnx --out FOLDER`` wrote.
        threads: onnxruntime's intra-op threads (None: its default).
    """

    def __init__(self, folder: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        import sentencepiece as spm

        folder = Path(folder)
        try:
            self.config = json.loads((folder / "translator.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{folder}: not an exported translator ({exc})") from None
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.encoder = ort.InferenceSession(str(folder / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
        self.step = ort.InferenceSession(str(folder / "decoder_step.onnx"), options,
                                         providers=["CPUExecutionProvider"])
        self.src_sp = spm.SentencePieceProcessor(model_file=str(folder / "source.model"))
        self.tgt_sp = spm.SentencePieceProcessor(model_file=str(folder / "target.model"))
        self.states = self.config["states"]

    # -- text ----------------------------------------------------------------------------------
    def encode(self, sentence: str) -> list[int]:
        ids = [self.src_sp.PieceToId(p) for p in self.src_sp.EncodeAsPieces(sentence)] if sentence.strip() else []
        return ids[: self.config["max_src_len"]]

    def translate(self, sentences: list[str], beam: int | None = None, batch_tokens: int = 6000) -> list[str]:
        """One translation per sentence (an empty sentence gets an empty one); ``beam`` 1 is greedy."""
        beam = self.config["decode"]["beam"] if beam is None else beam
        ids = [self.encode(s) for s in sentences]
        out = [""] * len(sentences)
        todo = sorted((i for i, x in enumerate(ids) if x), key=lambda i: len(ids[i]))
        per_batch = max(1, batch_tokens // max(beam, 1))
        start = 0
        while start < len(todo):  # batches of similar lengths, up to 256 sentences and per_batch source pieces
            end = start + 1
            while end < len(todo) and end - start < 256 and (end + 1 - start) * len(ids[todo[end]]) <= per_batch:
                end += 1
            rows = todo[start:end]
            src_len = np.array([len(ids[i]) for i in rows], dtype=np.int64)
            src = np.zeros((len(rows), int(src_len.max())), dtype=np.int64)
            for r, i in enumerate(rows):
                src[r, : len(ids[i])] = ids[i]
            found = self.greedy(src, src_len) if beam <= 1 else self.beam(src, src_len, beam)
            for i, toks in zip(rows, found):
                out[i] = self.tgt_sp.DecodePieces([self.tgt_sp.IdToPiece(t) for t in toks])
            start = end
        return out

    # -- graphs --------------------------------------------------------------------------------
    def _encode(self, src: np.ndarray, src_len: np.ndarray):
        states, keys, mask, feed, *state = self.encoder.run(None, {"src": src, "src_len": src_len})
        return [states, keys, mask], [feed, *state]

    def _step(self, tokens: np.ndarray, memory: list, state: list):
        feed, *layers = state
        inputs = {"tokens": tokens, "states": memory[0], "keys": memory[1], "mask": memory[2], "feed": feed,
                  **dict(zip(self.states, layers))}
        logp, weights, feed, *layers = self.step.run(None, inputs)
        return logp, weights, [feed, *layers]

    @staticmethod
    def _rows(state: list, index: np.ndarray) -> list:
        """The state of the given rows: the feed is (rows, hidden), the others (layers, rows, hidden)."""
        return [state[0][index]] + [s[:, index] for s in state[1:]]

    def _limits(self, src_len: np.ndarray) -> np.ndarray:
        d = self.config["decode"]
        return np.maximum((src_len.astype(np.float32) * np.float32(d["max_len_a"]) + d["max_len_b"]).astype(np.int64), 1)

    @staticmethod
    def _allowed(logp: np.ndarray, over: np.ndarray) -> np.ndarray:
        logp[:, [PAD, BOS, UNK]] = NEG_INF
        if over.any():
            logp[over, :] = NEG_INF
            logp[over, EOS] = 0.0
        return logp

    # -- searches ------------------------------------------------------------------------------
    def greedy(self, src: np.ndarray, src_len: np.ndarray) -> list[list[int]]:
        """The likeliest piece at each step; ended sentences leave the batch."""
        memory, state = self._encode(src, src_len)
        n = len(src)
        limits = self._limits(src_len)
        tokens = np.full(n, BOS, dtype=np.int64)
        out: list[list[int]] = [[] for _ in range(n)]
        active = np.arange(n)
        for t in range(int(limits.max()) + 1):
            logp, _, state = self._step(tokens, memory, state)
            logp = self._allowed(logp, t >= limits)
            tokens = logp.argmax(-1)
            for r, g in enumerate(active):
                out[g].append(int(tokens[r]))
            live = tokens != EOS
            if not live.any():
                break
            if not live.all():
                keep = np.flatnonzero(live)
                active, tokens, limits = active[keep], tokens[keep], limits[keep]
                memory, state = [m[keep] for m in memory], self._rows(state, keep)
        return [toks[: toks.index(EOS)] if EOS in toks else toks for toks in out]

    def beam(self, src: np.ndarray, src_len: np.ndarray, k: int) -> list[list[int]]:
        """Beam search with ``k`` rows per sentence; a sentence stops after ``ceil(patience * k)`` endings
        (fairseq's rule: an ending counts only among the ``k`` best candidates) and leaves the batch."""
        d = self.config["decode"]
        alpha, beta, need = d["alpha"], d["beta"], math.ceil(d["patience"] * k)
        memory, state = self._encode(src, src_len)
        # Attention received per source position, for the coverage penalty; padding starts at 1 (no penalty).
        coverage = np.repeat((np.arange(src.shape[1]) >= src_len[:, None]).astype(np.float32), k, axis=0)
        n = len(src)
        memory = [np.repeat(m, k, axis=0) for m in memory]
        state = self._rows(state, np.repeat(np.arange(n), k))
        limits = self._limits(src_len)
        scores = np.full((n, k), NEG_INF, dtype=np.float32)
        scores[:, 0] = 0.0
        tokens = np.full(n * k, BOS, dtype=np.int64)
        history = np.zeros((n * k, 0), dtype=np.int64)
        ids = list(range(n))
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(n)]
        for t in range(int(limits.max()) + 1):
            logp, weights, state = self._step(tokens, memory, state)
            logp = self._allowed(logp, np.repeat(t >= limits, k))
            coverage = coverage + weights
            vocab = logp.shape[1]
            cand = (scores.reshape(-1, 1) + logp).reshape(len(ids), k * vocab)
            width = min(2 * k, cand.shape[1])
            part = np.argpartition(-cand, width - 1, axis=1)[:, :width]
            order = np.argsort(-np.take_along_axis(cand, part, 1), axis=1, kind="stable")
            top_idx = np.take_along_axis(part, order, 1)
            top = np.take_along_axis(cand, top_idx, 1)
            origin, token = top_idx // vocab, top_idx % vocab
            lp = _length_penalty(t + 1, alpha)
            for s, j in np.argwhere(token[:, :k] == EOS):
                g = ids[s]
                if len(finished[g]) >= need or top[s, j] == NEG_INF:
                    continue
                row = s * k + origin[s, j]
                score = float(top[s, j]) / lp
                if beta:
                    score += float(np.float32(beta) * np.log(np.clip(coverage[row], 1e-6, 1.0)).sum())
                finished[g].append((score, history[row].tolist()))
            still_open = np.array([len(finished[g]) < need for g in ids])
            if not still_open.any():
                break
            masked = np.where(token == EOS, NEG_INF, top)
            keep_pos = np.argsort(-masked, axis=1, kind="stable")[:, :k]
            scores = np.take_along_axis(masked, keep_pos, 1)
            tokens = np.take_along_axis(token, keep_pos, 1).reshape(-1)
            backptr = (np.arange(len(ids))[:, None] * k + np.take_along_axis(origin, keep_pos, 1)).reshape(-1)
            if not still_open.all():
                sent = np.flatnonzero(still_open)
                rows = (sent[:, None] * k + np.arange(k)).reshape(-1)
                scores, tokens, backptr = scores[sent], tokens[rows], backptr[rows]
                limits = limits[sent]
                ids = [ids[i] for i in sent]
                memory = [m[backptr] for m in memory]  # a sentence's rows share its memory: any of them will do
            history = np.concatenate([history[backptr], tokens[:, None]], 1)
            coverage = coverage[backptr]
            state = self._rows(state, backptr)
        return [max(f, key=lambda h: h[0])[1] if f else [] for f in finished]


def main() -> None:
    ap = argparse.ArgumentParser(description="Translate lines of standard input with an exported translator.")
    ap.add_argument("folder", help="what nlpseq export RUN --format onnx wrote")
    ap.add_argument("--beam", type=int, help="beam size; 1 is greedy (default: the recipe's)")
    ap.add_argument("--threads", type=int, help="onnxruntime threads")
    args = ap.parse_args()
    translator = OnnxTranslator(args.folder, args.threads)
    lines = [line.rstrip("\n") for line in sys.stdin]
    for line in translator.translate(lines, args.beam):
        print(line)


if __name__ == "__main__":
    main()
