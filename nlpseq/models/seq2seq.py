"""LSTM/GRU encoder-decoder with attention (Bahdanau 2015; Luong 2015), for translation.

Training runs the whole target sequence per batch: the attention keys and the output
projection are computed once per batch. With input feeding the decoder steps in a loop
(its input at t depends on its output at t-1); without it all steps run in one call (torch's
fused kernel for LSTM and GRU without per-step regularizers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..config import Count, Probability
from ..errors import RecipeError
from ..nn import RecurrentEncoder, TokenEmbedding
from ..nn.attention import Attention
from ..nn.layers import CellRNN, step_layer
from ..nn.masks import padding_mask
from ..nn.recurrent import CellOptions, cell_class
from ..registry import MODELS
from ..text.vocab import Vocab


@dataclass
class Memory:
    """What the decoder reads from the encoder: one copy per sentence, read by ``group`` consecutive
    decoding rows each (the beams of a sentence query its memory together instead of copying it)."""

    states: torch.Tensor  # (sentences, src, enc)
    keys: torch.Tensor  # attention keys, projected once
    mask: torch.Tensor  # (sentences, src) True on real tokens
    # A vocabulary shortlist: the output layer restricted to the target ids the batch may produce, sliced once.
    output: Callable[[torch.Tensor], torch.Tensor] | None = None
    group: int = 1  # decoding rows per sentence

    def repeat(self, k: int) -> "Memory":
        """The memory for ``k`` rows per sentence (beams); nothing is copied."""
        return Memory(self.states, self.keys, self.mask, self.output, self.group * k)

    def select(self, rows: torch.Tensor) -> "Memory":
        """The memory of the given decoding rows (search drops finished sentences). With several rows per
        sentence, ``rows`` come in whole groups of one sentence each, as beam search keeps them."""
        sentences = rows if self.group == 1 else rows.view(-1, self.group)[:, 0] // self.group
        return Memory(self.states.index_select(0, sentences), self.keys.index_select(0, sentences),
                      self.mask.index_select(0, sentences), self.output, self.group)


@MODELS.register("lstm_seq2seq")
class Seq2Seq(nn.Module):
    """Encoder-decoder with attention; ``forward`` gives the label-smoothed loss, the ``step`` API decodes.

    Encoder and decoder are the shared recurrent layers of :mod:`nlpseq.nn`, built from the
    section's :class:`~nlpseq.nn.recurrent.CellOptions`: any registered cell of width 1, with
    variational and recurrent dropout and zoneout in both. The decoder state is one state tuple
    per decoder layer (``h`` first, then whatever else the cell keeps) and the previous
    attentional state: ``(layers, feed)``.
    """

    class Config(CellOptions):
        name: Literal["lstm_seq2seq"] = Field("lstm_seq2seq", description=(
            "the model (lstm_seq2seq: a recurrent encoder-decoder with attention)"))
        embedding_dim: Count = Field(256, description="size of each piece vector, source and target")
        hidden_size: Count = Field(512, description="decoder state; a bidirectional encoder uses half per direction")
        encoder_layers: Count = Field(2, description="stacked encoder layers")
        decoder_layers: Count = Field(1, description="stacked decoder layers")
        bidirectional: bool = Field(True, description="a bidirectional encoder (hidden_size / 2 per direction)")
        skip_connections: bool = Field(False, description="residual connections between stacked encoder layers")
        attention: Literal["bahdanau", "general", "dot"] = Field("general", description=(
            "attention score: bahdanau (additive), general (bilinear) or dot"))
        input_feeding: bool = Field(True, description=(
            "feed the previous attentional state back into the decoder (Luong et al. 2015): better, slower"))
        dropout: Probability = Field(0.3, description="dropout between layers and on the attentional state in training")
        embedding_dropout: Probability = Field(0.1, description="dropout on piece vectors in training")
        word_dropout: float = Field(0.0, ge=0, le=1, description=(
            "chance of replacing a source or decoder-input piece by <unk> in training"))
        tie_output: bool = Field(True, description="output projection shares the target embedding")
        share_embeddings: bool = Field(False, description=(
            "source and target embeddings shared (needs a joint vocabulary)"))
        label_smoothing: Probability = Field(0.1, description=(
            "share of each target's probability spread over the vocabulary in the loss"))

    def __init__(self, cfg: Config, src_vocab_size: int, tgt_vocab_size: int) -> None:
        super().__init__()
        kind = cell_class(cfg.cell)
        if cfg.share_embeddings and src_vocab_size != tgt_vocab_size:
            raise RecipeError("model.share_embeddings needs a joint vocabulary (text.joint: true)")
        self.cfg = cfg
        hid, emb = cfg.hidden_size, cfg.embedding_dim
        self.src_embed = TokenEmbedding(src_vocab_size, emb, cfg.embedding_dropout, cfg.word_dropout)
        self.tgt_embed = self.src_embed if cfg.share_embeddings else TokenEmbedding(
            tgt_vocab_size, emb, cfg.embedding_dropout, cfg.word_dropout)
        self.encoder = RecurrentEncoder.from_options(emb, cfg, cfg.bidirectional, num_layers=cfg.encoder_layers,
                                                     hidden_size=hid // 2 if cfg.bidirectional else hid)
        enc_size = self.encoder.output_size
        # The decoder's initial state from the encoder's final one: h, and the second state tensor if the
        # cell keeps one (an LSTM's memory cell); further tensors of a plugin cell start at zero.
        self.bridge_h = nn.Linear(enc_size, hid * cfg.decoder_layers)
        self.bridge_c = nn.Linear(enc_size, hid * cfg.decoder_layers) if kind.state_count > 1 else None
        regularizers = dict(variational_dropout=cfg.variational_dropout, recurrent_dropout=cfg.recurrent_dropout,
                            zoneout=cfg.zoneout, **cfg.cell_options())
        between = cfg.dropout if cfg.decoder_layers > 1 else 0.0
        if cfg.input_feeding:
            fused = kind.fused_step is not None and not cfg.per_step
            self.cells = nn.ModuleList(step_layer(cfg.cell, emb + hid if i == 0 else hid, hid, fused, **regularizers)
                                       for i in range(cfg.decoder_layers))
            width = max(c.width for c in self.cells)
        elif kind.fused is not None and not cfg.per_step:
            self.rnn = kind.fused(emb, hid, cfg.decoder_layers, batch_first=True, dropout=between)
            width = 1
        else:
            self.rnn = CellRNN(cfg.cell, emb, hid, cfg.decoder_layers, dropout=between, **regularizers)
            width = max(d.width for layer in self.rnn.layers for d in layer)
        if width > 1:
            raise RecipeError(f"model.cell: '{cfg.cell}' convolves over the previous input, which a decoder "
                              "stepping one token at a time does not have; use it in classifiers and language models")
        self.attention = Attention(cfg.attention, hid, enc_size)
        self.combine = nn.Linear(hid + enc_size, hid)  # attentional state: tanh(W [h; context])
        self.dropout = nn.Dropout(cfg.dropout)
        self.pre_output = nn.Linear(hid, emb) if cfg.tie_output else None
        self.output = None if cfg.tie_output else nn.Linear(hid, tgt_vocab_size)
        self.out_bias = nn.Parameter(torch.zeros(tgt_vocab_size)) if cfg.tie_output else None
        self.state_count = kind.state_count
        self._int8_rows = None  # a quantized output layer's unpacked int8 weights, for shortlists

    # -- pieces --------------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_len: torch.Tensor, vocab: torch.Tensor | None = None
               ) -> tuple[Memory, tuple]:
        """Encode a source batch; returns the memory and the decoder's initial state. With ``vocab``
        (sorted target ids, a shortlist) the steps score those ids only, in that order."""
        states, h, _ = self.encoder(self.src_embed(src), src_len)
        final = self.encoder.last_layer_final(h)
        layers, hid = self.cfg.decoder_layers, self.cfg.hidden_size
        bridged = [torch.tanh(b(final)).view(-1, layers, hid).transpose(0, 1).contiguous().unbind(0)
                   for b in (self.bridge_h, self.bridge_c)[: self.state_count]]
        zeros = [[final.new_zeros(final.size(0), hid)] * layers] * (self.state_count - len(bridged))
        memory = Memory(states, self.attention.keys(states), padding_mask(src_len, src.size(1)),
                        None if vocab is None else self.output_rows(vocab))
        feed = states.new_zeros(src.size(0), hid)  # previous attentional state, for input feeding
        return memory, (tuple(zip(*bridged, *zeros)), feed)

    def logits(self, attentional: torch.Tensor, rows: Callable[[torch.Tensor], torch.Tensor] | None = None
               ) -> torch.Tensor:
        """Vocabulary scores for attentional states (any leading shape); with ``rows`` (the output layer
        restricted to a shortlist, from :meth:`output_rows`) the scores of those ids only."""
        x = self.dropout(attentional)
        if rows is not None:
            return rows(self.pre_output(x) if self.pre_output is not None else x)
        if self.pre_output is not None:
            x = self.pre_output(x)
            if self.output is None:  # tied: the target embedding is the output matrix
                return F.linear(x, self.tgt_embed.weight, self.out_bias)
        return self.output(x)

    def output_rows(self, ids: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """The output layer restricted to target ``ids``: a function from the layer's input to those ids'
        scores. A dynamically quantized output layer stays int8: its rows keep their int8 weights and
        scales, so a shortlist's scores are the full layer's scores of those ids."""
        if self.output is None:
            weight, bias = self.tgt_embed.weight.index_select(0, ids), self.out_bias.index_select(0, ids)
            return lambda x: F.linear(x, weight, bias)
        if not callable(self.output.weight):
            weight, bias = self.output.weight.index_select(0, ids), self.output.bias.index_select(0, ids)
            return lambda x: F.linear(x, weight, bias)
        if self._int8_rows is None:  # torch's quantized Linear keeps packed weights: unpacked once
            q, b = self.output.weight(), self.output.bias()
            self._int8_rows = (q.int_repr(), q.q_per_channel_scales(), q.q_per_channel_zero_points(), b)
        values, scales, zeros, b = self._int8_rows
        rows = torch._make_per_channel_quantized_tensor(values.index_select(0, ids), scales.index_select(0, ids),
                                                        zeros.index_select(0, ids), 0)
        packed = torch.ops.quantized.linear_prepack(rows, b.index_select(0, ids))
        return lambda x: torch.ops.quantized.linear_dynamic(x, packed, reduce_range=True)

    def untie_for_inference(self) -> None:
        """Give the tied output its own linear layer (a copy of the target embedding), so that a
        quantized model quantizes the step's largest product too. Inference only: training would
        then update the two copies apart."""
        if self.pre_output is None or self.output is not None:
            return
        vocab, dim = self.tgt_embed.weight.shape
        self.output = nn.Linear(dim, vocab)
        with torch.no_grad():
            self.output.weight.copy_(self.tgt_embed.weight)
            self.output.bias.copy_(self.out_bias)

    def _attend(self, h: torch.Tensor, memory: Memory) -> tuple[torch.Tensor, torch.Tensor]:
        """Attentional states and attention weights for decoder outputs ``h`` (rows, steps, hidden)."""
        rows, steps, g = h.size(0), h.size(1), memory.group
        if g > 1:  # a sentence's rows become queries of one attention over its memory
            h = h.reshape(rows // g, g * steps, -1)
        context, weights = self.attention(h, memory.keys, memory.states, memory.mask)
        att = torch.tanh(self.combine(torch.cat([h, context], -1)))
        if g > 1:
            att, weights = att.reshape(rows, steps, -1), weights.reshape(rows, steps, -1)
        return att, weights

    def _whole_sequence(self, emb: torch.Tensor, layers: tuple) -> tuple[torch.Tensor, tuple]:
        # Without input feeding the decoder's inputs are known, so all steps run in one call.
        if isinstance(self.rnn, CellRNN):
            lengths = torch.full((emb.size(0),), emb.size(1), dtype=torch.long)
            out, _, _ = self.rnn(emb, lengths, [(s, None) for s in layers])
            return out, tuple(s for s, _ in self.rnn.last_states)
        stacked = tuple(torch.stack(t) for t in zip(*layers))  # torch's kernels keep (layers, batch, hidden)
        out, final = self.rnn(emb, stacked if len(stacked) > 1 else stacked[0])
        final = final if isinstance(final, tuple) else (final,)
        return out, tuple(zip(*(t.unbind(0) for t in final)))

    def decode(self, tgt_in: torch.Tensor, memory: Memory, state: tuple) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """Run the decoder over ``tgt_in`` (batch, steps) from ``state``.

        Returns:
            attentional states (batch, steps, hidden), attention weights (batch, steps, src), final state.
        """
        emb = self.tgt_embed(tgt_in)
        layers, feed = state
        if not self.cfg.input_feeding:
            out, layers = self._whole_sequence(emb, layers)
            att, weights = self._attend(out, memory)
            return att, weights, (layers, att[:, -1])
        layers = list(layers)
        noise = [cell.noise(emb.size(0), emb) for cell in self.cells]  # one mask per sequence, for every step
        outs, all_w = [], []
        for t in range(emb.size(1)):
            x = torch.cat([emb[:, t], feed], -1)
            for i, cell in enumerate(self.cells):
                layers[i] = cell.step(x, layers[i], noise[i])
                x = self.dropout(layers[i][0]) if i + 1 < len(self.cells) else layers[i][0]
            feed, w = self._attend(x.unsqueeze(1), memory)
            feed = feed.squeeze(1)
            outs.append(feed)
            all_w.append(w)
        return torch.stack(outs, 1), torch.cat(all_w, 1), (tuple(layers), feed)

    def step(self, tokens: torch.Tensor, memory: Memory, state: tuple) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """One decoding step for previous tokens (n,): log-probabilities (n, vocab), attention (n, src), state.

        With a shortlist (``encode(..., vocab=ids)``) the log-probabilities are over those ids, normalised
        over them."""
        att, weights, state = self.decode(tokens.unsqueeze(1), memory, state)
        return torch.log_softmax(self.logits(att[:, 0], memory.output).float(), -1), weights[:, 0], state

    @staticmethod
    def reorder(state: tuple, index: torch.Tensor) -> tuple:
        """Select decoding rows (beam search keeps the surviving hypotheses)."""
        layers, feed = state
        return tuple(tuple(t.index_select(0, index) for t in s) for s in layers), feed.index_select(0, index)

    # -- training ------------------------------------------------------------------------------
    def forward(self, batch: dict) -> dict:
        memory, state = self.encode(batch["src"], batch["src_len"])
        att, _, _ = self.decode(batch["tgt_in"], memory, state)
        logits = self.logits(att)
        gold = batch["tgt_out"]
        units = int((gold != Vocab.pad_id).sum())
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), gold.reshape(-1), ignore_index=Vocab.pad_id,
                               label_smoothing=self.cfg.label_smoothing, reduction="sum") / max(units, 1)
        return {"loss": loss, "units": units}
