"""CKY finds the best tree under the recursive merge scorer; batching and padding change nothing."""

import torch

from nlpseq.decode.chart import cky, greedy
from nlpseq.models.parser import RecursiveParser


def scorer(dim: int = 8, span: bool = False) -> RecursiveParser:
    torch.manual_seed(0)
    cfg = RecursiveParser.Config(dim=dim, hidden_size=4, num_layers=1, embedding_dim=4, char_dim=0,
                                 span_features=span)
    return RecursiveParser(cfg, vocab_size=10, num_chars=5, num_tags=3, num_labels=4).eval()


def all_trees(i: int, j: int):
    """Every binary bracketing of [i, j) as nested tuples."""
    if j - i == 1:
        yield i
        return
    for k in range(i + 1, j):
        for left in all_trees(i, k):
            for right in all_trees(k, j):
                yield (left, right)


def tree_score(m, leaves, tree, terms=None, margin=None):
    """(score, vector, end) of a nested-tuple tree, composed directly."""
    if isinstance(tree, int):
        return 0.0, leaves[tree], tree + 1
    ls, lv, _ = tree_score(m, leaves, tree[0], terms, margin)
    rs, rv, end = tree_score(m, leaves, tree[1], terms, margin)
    s = _start(tree)
    term = None if terms is None else terms[s, end]
    p = m.parent(m.left(lv), m.right(rv), term)
    extra = 0.0 if margin is None else float(margin[s, end])
    return ls + rs + float(m.merge_score(p)) + extra, p, end


def _start(tree):
    while not isinstance(tree, int):
        tree = tree[0]
    return tree


def test_cky_finds_the_brute_force_best_tree_with_and_without_margin():
    m = scorer(span=True)
    n = 6
    torch.manual_seed(3)
    leaves = torch.randn(1, n, 8)
    edges = torch.randn(1, n + 1, 8)
    terms = m._span_table(edges)
    margin = torch.rand(1, n, n + 1)
    with torch.no_grad():
        for mg in (None, margin):
            best = max(tree_score(m, leaves[0], t, terms[0], None if mg is None else mg[0])[0]
                       for t in all_trees(0, n))
            nodes, vectors, score = cky(m, leaves, [n], terms, mg)[0]
            assert abs(score - best) < 1e-4
            assert len(nodes) == n - 1 and nodes[-1][:2] == (0, n)


def test_batched_cky_equals_one_sentence_at_a_time():
    m = scorer()
    torch.manual_seed(1)
    lengths = [7, 3, 5, 1]
    leaves = torch.randn(len(lengths), 7, 8)
    with torch.no_grad():
        together = cky(m, leaves, lengths)
        for b, n in enumerate(lengths):
            alone = cky(m, leaves[b : b + 1, :n], [n])[0]
            assert together[b][0] == alone[0]
            assert torch.allclose(together[b][1], alone[1], atol=1e-6)


def test_greedy_builds_a_valid_tree_and_compose_reproduces_chart_vectors():
    m = scorer()
    torch.manual_seed(2)
    n = 6
    leaves = torch.randn(1, n, 8)
    with torch.no_grad():
        nodes, vectors, _ = greedy(m, leaves[0])
        assert len(nodes) == n - 1 and nodes[-1][:2] == (0, n)
        spans = {(s, e) for s, e, _, _ in nodes}
        for s, e, left, right in nodes:  # children tile their parent
            ls = (-1 - left, -left) if left < 0 else nodes[left][:2]
            rs = (-1 - right, -right) if right < 0 else nodes[right][:2]
            assert ls[0] == s and rs[1] == e and ls[1] == rs[0]
        assert len(spans) == n - 1
        # The level-batched composition used in training gives the decoder's vectors.
        c_nodes, c_vectors, _ = cky(m, leaves, [n])[0]
        parents, scores = m.compose(leaves.reshape(n, 8), None, [c_nodes, nodes], [0, 0], n)
        assert torch.allclose(parents[0], c_vectors, atol=1e-6)
        assert torch.allclose(parents[1], vectors, atol=1e-6)
        best = max(tree_score(m, leaves[0], t)[0] for t in all_trees(0, n))
        assert best >= float(scores[1].sum()) - 1e-4  # greedy never beats exact search
