"""A recursive-network constituency parser (Socher et al. 2011) over BiLSTM word states.

Two adjacent constituents c_l, c_r merge into p = tanh(W [c_l; c_r] + b) (plus, optionally, a
span term V r_ij from the BiLSTM states at the span's edges, as in Stern et al. 2017); the merge
scores s = u·p, a tree scores the sum of its merges. Training is structured max-margin: the
loss-augmented best tree (CKY, a cost for every span not in the gold tree) must score below the
gold tree by that cost. A softmax labels every node (the collapsed unary chain, or empty for the
nodes binarization added), every word's unary chain, and every word's part-of-speech tag.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from pydantic import Field

from ..config import Count, Natural, NonNegative, Probability
from ..data.treebatch import collate_trees
from ..decode.chart import Nodes, cky, greedy
from ..nn import RecurrentEncoder, TokenEmbedding
from ..nn.recurrent import RecurrentOptions
from ..registry import MODELS


class CharCNN(nn.Module):
    """A word's vector from its characters: embeddings, one width-3 convolution, max over positions."""

    def __init__(self, num_chars: int, dim: int, filters: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_chars, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, filters, 3, padding=1)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        b, t, c = chars.shape
        x = self.embed(chars.view(b * t, c)).transpose(1, 2)
        h = self.conv(x).masked_fill((chars.view(b * t, 1, c) == 0), float("-inf")).amax(-1)
        return torch.nan_to_num(h, neginf=0.0).view(b, t, -1)  # padded words have no characters


@MODELS.register("recursive_parser")
class RecursiveParser(nn.Module):
    """Parses a sentence into a labelled binary tree by recursive composition of constituents."""

    class Config(RecurrentOptions):
        name: Literal["recursive_parser"] = Field("recursive_parser", description=(
            "the model (recursive_parser: BiLSTM leaves composed into scored phrases, decoded by chart search)"))
        embedding_dim: Count = Field(100, description="size of each word vector")
        char_dim: Natural = Field(32, description="0: no character features")
        char_filters: Count = Field(64, description="character convolution filters per word (0: no character features)")
        hidden_size: Count = Field(200, description="per direction")
        num_layers: Count = Field(2, description="stacked BiLSTM layers over the words")
        dropout: Probability = Field(0.3, description="dropout on the BiLSTM's outputs in training")
        embedding_dropout: Probability = Field(0.2, description="dropout on word vectors in training")
        word_dropout: Probability = Field(0.1, description="chance of replacing a training word by <unk>")
        dim: Count = Field(250, description="constituent vectors")
        span_features: bool = Field(False, description="add the BiLSTM span term V r_ij to every composition")
        margin: NonNegative = Field(1.0, description="cost of each predicted span the gold tree lacks")
        decode: Literal["cky", "greedy"] = Field("cky", description=(
            "tree search: cky (the best-scoring tree, cubic in the length) or greedy (bottom-up merges, quadratic)"))

    def __init__(self, cfg: Config, vocab_size: int, num_chars: int, num_tags: int, num_labels: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = TokenEmbedding(vocab_size, cfg.embedding_dim, cfg.embedding_dropout, cfg.word_dropout)
        self.chars = CharCNN(num_chars, cfg.char_dim, cfg.char_filters) if cfg.char_dim else None
        size_in = cfg.embedding_dim + (cfg.char_filters if cfg.char_dim else 0)
        self.encoder = RecurrentEncoder.from_options(size_in, cfg, bidirectional=True)
        h = self.encoder.output_size
        self.dropout = nn.Dropout(cfg.dropout)
        self.leaf = nn.Linear(h, cfg.dim)
        self.left = nn.Linear(cfg.dim, cfg.dim)  # W = [W_l W_r]; b lives in ``left``
        self.right = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.span = nn.Linear(h, cfg.dim, bias=False) if cfg.span_features else None
        self.u = nn.Linear(cfg.dim, 1, bias=False)
        self.tagger = nn.Linear(h, num_tags)
        self.leaf_labels = nn.Linear(cfg.dim, num_labels)
        self.node_labels = nn.Linear(cfg.dim, num_labels)

    # -- the merge scorer (see nlpseq.decode.chart.MergeScorer) -----------------------------------
    def project(self, reps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.left(reps), self.right(reps)

    def parent(self, left_proj: torch.Tensor, right_proj: torch.Tensor, span: torch.Tensor | None) -> torch.Tensor:
        z = left_proj + right_proj
        if span is not None:
            z = z + span
        return torch.tanh_(z) if not z.requires_grad else torch.tanh(z)

    def merge_score(self, parent: torch.Tensor) -> torch.Tensor:
        return self.u(parent).squeeze(-1)

    # -- encoding --------------------------------------------------------------------------------
    def encode(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Word states (B, T, 2h), leaf constituents (B, T, dim), and span edge vectors (B, T + 1, dim) or None.

        The span term of ``[i, j)`` is ``edges[j] - edges[i]``: V applied to the difference of
        forward states and of backward states at the span's edges, factored so each edge is projected once.
        """
        x = self.embed(batch["words"])
        if self.chars is not None:
            x = torch.cat([x, self.chars(batch["chars"])], -1)
        states, _, _ = self.encoder(x, batch["lengths"])
        states = self.dropout(states)
        leaves = torch.tanh(self.leaf(states))
        edges = None
        if self.span is not None:
            half = states.size(-1) // 2
            b, t = states.shape[:2]
            fwd = torch.cat([states.new_zeros(b, 1, half), states[..., :half]], 1)  # f_{j-1}, f_{-1} = 0
            bwd = torch.cat([states[..., half:], states.new_zeros(b, 1, half)], 1)  # b_i, b_n = 0
            # Backward states run right to left, so their span difference is b_i - b_j.
            wf, wb = self.span.weight[:, :half], self.span.weight[:, half:]
            edges = fwd @ wf.T - bwd @ wb.T
        return states, leaves, edges

    @staticmethod
    def _span_table(edges: torch.Tensor) -> torch.Tensor:
        """(..., T, T + 1, dim) span terms from (..., T + 1, dim) edges: [i, j] -> edges[j] - edges[i]."""
        return edges.unsqueeze(-3) - edges[..., :-1, :].unsqueeze(-2)

    # -- training --------------------------------------------------------------------------------
    def forward(self, batch: dict) -> dict:
        states, leaves, edges = self.encode(batch)
        lengths = batch["lengths"].tolist()
        b, t = batch["words"].shape
        gold: list[list[tuple[int, int, int, int, int]]] = batch["trees"]
        predicted: list[Nodes] = []
        costs: list[float] = []
        with torch.no_grad():
            margin = leaves.new_full((b, t, t + 1), self.cfg.margin)
            for i, tree in enumerate(gold):
                if tree:
                    span = torch.tensor([g[:2] for g in tree])
                    margin[i, span[:, 0], span[:, 1]] = 0.0
            terms = None if edges is None else self._span_table(edges.detach())
            for i, (nodes, _, _) in enumerate(cky(self, leaves.detach(), lengths, terms, margin)):
                predicted.append(nodes)
                wrong = {(s, e) for s, e, *_ in nodes} - {(s, e) for s, e, *_ in gold[i]}
                costs.append(self.cfg.margin * len(wrong))
        trees = [[g[:4] for g in tree] for tree in gold] + predicted
        owners = list(range(b)) * 2
        parents, scores = self.compose(leaves.reshape(b * t, -1), edges, trees, owners, t)
        tree_scores = torch.stack([s.sum() for s in scores])
        hinge = F.relu(tree_scores[b:] + tree_scores.new_tensor(costs) - tree_scores[:b]).sum()

        mask = batch["tags"] >= 0
        n_words = int(mask.sum())
        tag_loss = F.cross_entropy(self.tagger(states[mask]), batch["tags"][mask], reduction="sum")
        leaf_loss = F.cross_entropy(self.leaf_labels(leaves[mask]), batch["leaf_labels"][mask], reduction="sum")
        gold_parents = torch.cat(parents[:b]) if any(len(g) for g in gold) else leaves.new_zeros(0, leaves.size(-1))
        node_gold = torch.tensor([g[4] for tree in gold for g in tree], dtype=torch.long, device=leaves.device)
        node_loss = F.cross_entropy(self.node_labels(self.dropout(gold_parents)), node_gold, reduction="sum")
        loss = (hinge + tag_loss + leaf_loss + node_loss) / max(n_words, 1)
        return {"loss": loss, "units": n_words}

    def compose(self, leaves: torch.Tensor, edges: torch.Tensor | None, trees: list[Nodes], owners: list[int],
                width: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Parent vectors and merge scores of every node of ``trees``, all trees level by level at once.

        ``leaves`` is (sentences * width, dim); tree ``k`` belongs to sentence ``owners[k]``.
        Returns per tree its (nodes, dim) parents and (nodes,) scores, in the tree's post-order.
        """
        rows, spans = [], []
        for tree, owner in zip(trees, owners):
            rows.append(_as_row(tree, owner * width))
            spans += [(owner, s, e) for s, e, _, _ in tree]
        batch = collate_trees(rows)
        n_leaves = batch["words"].numel()
        states = leaves.new_zeros(n_leaves + batch["left"].numel(), leaves.size(-1))
        leaf_states = leaves[batch["words"].to(leaves.device)]
        states[:n_leaves] = leaf_states
        proj_l, proj_r = self.project(leaf_states)  # not a view of ``states``, which is written below
        pl = leaves.new_zeros(states.shape)
        pr = leaves.new_zeros(states.shape)
        pl[:n_leaves], pr[:n_leaves] = proj_l, proj_r
        span_of_slot = None
        if edges is not None and spans:
            sp = torch.tensor(spans)
            internal_slots = batch["positions"][torch.tensor([i for i, r in enumerate(_flat_words(rows)) if r < 0])]
            span_of_slot = torch.zeros(states.size(0), 3, dtype=torch.long)
            span_of_slot[internal_slots] = sp
        start, pos = n_leaves, 0
        left, right = batch["left"], batch["right"]
        for size in batch["level_sizes"]:
            sl = slice(start, start + size)
            term = None
            if span_of_slot is not None:
                o, s, e = span_of_slot[sl].T.to(leaves.device)
                term = edges[o, e] - edges[o, s]
            p = self.parent(pl[left[pos : pos + size]], pr[right[pos : pos + size]], term)
            states[sl] = p
            pl[sl], pr[sl] = self.project(p)
            start += size
            pos += size
        merge = self.merge_score(states)
        parents, scores, offset = [], [], 0
        for row, tree in zip(rows, trees):
            slots = batch["positions"][offset : offset + len(row["words"])]
            internal = slots[torch.tensor(row["words"]) < 0]
            parents.append(states[internal])
            scores.append(merge[internal])
            offset += len(row["words"])
        return parents, scores

    # -- inference -------------------------------------------------------------------------------
    @torch.inference_mode()
    def parse(self, batch: dict, decode: str | None = None) -> list[dict]:
        """Per sentence: ``nodes`` (post-order), ``labels`` (node label ids; never empty at the root),
        ``leaf_labels`` and ``tags`` (ids per word)."""
        states, leaves, edges = self.encode(batch)
        lengths = batch["lengths"].tolist()
        terms = None if edges is None else self._span_table(edges)
        if (decode or self.cfg.decode) == "greedy":
            found = [greedy(self, leaves[i, :n], None if terms is None else terms[i, :n, : n + 1])
                     for i, n in enumerate(lengths)]
        else:
            found = cky(self, leaves, lengths, terms)
        out = []
        for i, (n, (nodes, vectors, _)) in enumerate(zip(lengths, found)):
            labels: list[int] = []
            if nodes:
                logits = self.node_labels(vectors)
                logits[-1, 0] = float("-inf")  # label 0 is the empty label; the root must be a phrase
                labels = logits.argmax(-1).tolist()
            out.append({
                "nodes": nodes, "labels": labels,
                "leaf_labels": self.leaf_labels(leaves[i, :n]).argmax(-1).tolist(),
                "tags": self.tagger(states[i, :n]).argmax(-1).tolist(),
            })
        return out


def _as_row(tree: Nodes, leaf_offset: int) -> dict[str, list[int]]:
    """A tree as :func:`~nlpseq.data.treebatch.collate_trees` rows: leaves carry their flat word position."""
    words, left, right, height = [], [], [], []

    def node(ref: int) -> int:
        if ref < 0:
            words.append(leaf_offset + (-1 - ref))
            left.append(-1)
            right.append(-1)
            height.append(0)
        else:
            a, b = node(tree[ref][2]), node(tree[ref][3])
            words.append(-1)
            left.append(a)
            right.append(b)
            height.append(1 + max(height[a], height[b]))
        return len(words) - 1

    node(len(tree) - 1 if tree else -1)
    return {"words": words, "left": left, "right": right, "height": height, "labels": [0] * len(words)}


def _flat_words(rows: list[dict]) -> list[int]:
    return [w for r in rows for w in r["words"]]
