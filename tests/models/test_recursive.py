"""The level-batched recursive models equal naive per-node recursion (float64) on real SST trees."""

import pytest
import torch

from nlpseq.data.treebatch import collate_trees, encode_tree
from nlpseq.data.trees import read_sentiment_trees, tree_tokens
from nlpseq.models.recursive_levels import compose_levels
from nlpseq.registry import MODELS
from nlpseq.text import Vocab

from .recursive_reference import naive_node_logits


@pytest.fixture(scope="module")
def trees(sst_dev):
    return read_sentiment_trees(sst_dev)[:12]


def build(name, vocab):
    torch.manual_seed(0)
    cls = MODELS.get(name)
    cfg = cls.Config(name=name, dim=6, **({"embedding_dim": 5, "dropout": 0.0, "embedding_dropout": 0.0}
                                           if name == "treelstm" else {}))
    model = cls(cfg, len(vocab), 5).double()
    if name == "rntn":
        with torch.no_grad():
            model.V.normal_(0, 0.3)  # a tensor term large enough to matter
    return model.eval()


@pytest.mark.parametrize("name", ["recnn", "rntn", "treelstm"])
def test_batched_equals_naive_forward_and_gradients(name, trees):
    vocab = Vocab.build([tree_tokens(t) for t in trees[:6]])  # later trees bring unknown words
    model = build(name, vocab)
    batch = collate_trees([encode_tree(t, vocab) for t in trees])
    out = model(batch)
    out["loss"].backward()
    batched_grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()

    naive = [torch.stack(naive_node_logits(model, t, vocab)) for t in trees]
    flat = out["logits"][batch["positions"]]
    assert torch.allclose(flat, torch.cat(naive), atol=1e-6, rtol=0)
    gold = torch.cat([torch.tensor(encode_tree(t, vocab)["labels"]) for t in trees])
    loss = torch.nn.functional.cross_entropy(torch.cat(naive), gold, reduction="sum") / len(trees)
    assert torch.allclose(out["loss"], loss, atol=1e-9)
    loss.backward()
    for k, p in model.named_parameters():
        assert torch.allclose(batched_grads[k], p.grad, atol=1e-6, rtol=0), k


@pytest.mark.parametrize("with_tensor", [False, True])
def test_level_recursion_gradients_match_finite_differences(with_tensor, trees):
    """The hand-derived backward of the RecNN/RNTN level recursion, checked numerically on real trees."""
    vocab = Vocab.build([tree_tokens(t) for t in trees])
    batch = collate_trees([encode_tree(t, vocab) for t in trees[:2]])
    g = torch.Generator().manual_seed(0)
    d = 3
    args = [torch.randn(batch["words"].numel(), d, generator=g, dtype=torch.float64) * 0.5,
            torch.randn(d, 2 * d, generator=g, dtype=torch.float64) * 0.5,
            torch.randn(d, generator=g, dtype=torch.float64) * 0.1,
            torch.randn(2 * d, d, 2 * d, generator=g, dtype=torch.float64) * 0.3 if with_tensor else None]
    for a in args:
        if a is not None:
            a.requires_grad_(True)

    def f(leaves, weight, bias, tensor=None):
        return compose_levels(leaves, weight, bias, tensor, batch["left"], batch["right"], batch["level_sizes"])

    assert torch.autograd.gradcheck(f, tuple(a for a in args if a is not None))


@pytest.mark.parametrize("name", ["recnn", "rntn"])
def test_inference_without_gradients_gives_the_training_forward(name, trees):
    """Under no_grad the level recursion keeps one level's products, not every node's: same states."""
    vocab = Vocab.build([tree_tokens(t) for t in trees])
    model = build(name, vocab)
    batch = collate_trees([encode_tree(t, vocab) for t in trees])
    with_grad = model.node_states(batch)
    assert with_grad.requires_grad
    with torch.no_grad():
        assert torch.equal(model.node_states(batch), with_grad.detach())


def test_height_order_makes_levels_contiguous(trees):
    vocab = Vocab.build([tree_tokens(t) for t in trees])
    rows = [encode_tree(t, vocab) for t in trees]
    batch = collate_trees(rows)
    n_nodes = sum(len(r["words"]) for r in rows)
    assert batch["labels"].numel() == n_nodes
    assert batch["words"].numel() == sum(len(tree_tokens(t)) for t in trees)
    assert sum(batch["level_sizes"]) == n_nodes - batch["words"].numel()
    # Children always come before their parents, so each level only reads finished states.
    parents = torch.arange(batch["words"].numel(), n_nodes)
    assert bool((batch["left"] < parents).all()) and bool((batch["right"] < parents).all())
    assert len(batch["roots"]) == len(trees)
    assert batch["labels"][batch["roots"]].tolist() == [int(t.label()) for t in trees]


@pytest.mark.parametrize("name", ["recnn", "rntn"])
def test_composition_starts_near_the_sum_of_the_children(name):
    """CoreNLP's initialisation: W = [I + U, I + U], U small, zero bias; tensor terms smaller still."""
    torch.manual_seed(0)
    cls = MODELS.get(name)
    d = 30
    model = cls(cls.Config(name=name, dim=d), 50, 5)
    eye = torch.eye(d)
    assert (model.W.weight - torch.cat([eye, eye], 1)).abs().max() <= 1 / (2 * d**0.5)
    assert model.W.bias.abs().max() == 0
    # Near, not at: the error against tanh(l + r) is a fraction of the signal, where a zero or random
    # W (a broken initialisation) would be off by all of it.
    left, right = torch.randn(64, d) * 0.5, torch.randn(64, d) * 0.5
    target = torch.tanh(left + right)
    with torch.no_grad():
        error = (model.compose(left, right) - target).abs().mean()
    assert error < 0.5 * target.abs().mean(), (float(error), float(target.abs().mean()))
    assert model.l2_multipliers["W.weight"] == 10.0


@pytest.mark.parametrize("name", ["recnn", "rntn", "treelstm"])
def test_word_dropout_replaces_training_leaves_by_unknown(name, trees):
    vocab = Vocab.build([tree_tokens(t) for t in trees])
    cls = MODELS.get(name)
    cfg = cls.Config(name=name, dim=6, word_dropout=1.0, **({"embedding_dim": 5, "embedding_dropout": 0.0,
                                                             "dropout": 0.0} if name == "treelstm" else {}))
    model = cls(cfg, len(vocab), 5)
    batch = collate_trees([encode_tree(t, vocab) for t in trees[:3]])
    n = batch["words"].numel()
    unknown = model.leaf(model.embed.weight[vocab.unk_id][None])
    model.train()
    assert torch.allclose(model.node_states(batch)[:n], unknown.expand(n, -1))
    model.eval()  # at inference every word keeps its own vector
    assert not torch.allclose(model.node_states(batch)[:n], unknown.expand(n, -1))


@pytest.mark.parametrize("name", ["recnn", "rntn", "treelstm"])
def test_a_batch_of_one_word_trees_trains(name):
    """No internal node at all: composition weights get a zero gradient, word vectors a real one."""
    from nltk import Tree

    vocab = Vocab.build([["good", "bad"]])
    cls = MODELS.get(name)
    model = cls(cls.Config(name=name, dim=4, **({"embedding_dim": 3} if name == "treelstm" else {})), len(vocab), 5)
    batch = collate_trees([encode_tree(Tree.fromstring(s), vocab) for s in ("(3 good)", "(1 bad)")])
    model(batch)["loss"].backward()
    assert model.embed.weight.grad.abs().sum() > 0
    composition = model.node_gates if name == "treelstm" else model.W
    assert composition.weight.grad is None or composition.weight.grad.abs().sum() == 0
