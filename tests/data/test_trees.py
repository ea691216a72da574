import pytest

from nlpseq.data.trees import read_sentiment_trees, read_trees, tree_tokens
from nlpseq.errors import DataError


def test_real_sst_trees_read_and_check(sst_dev):
    trees = read_sentiment_trees(sst_dev)
    assert len(trees) >= 100
    for t in trees[:50]:
        assert t.label() in "01234"
        assert len(tree_tokens(t)) >= 1


def test_token_with_space_stays_one_token(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("(3 (2 8 1\\/2) (3 good))\n")
    (tree,) = read_sentiment_trees(f)
    assert tree_tokens(tree) == ["8 1\\/2", "good"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("(3 (2 a) (2 b)", "unbalanced brackets"),
        ("(3 (2 a) (2 b)))", "unbalanced brackets"),
        ("(3 (a) (2 b))", "label 'a' is not one of 0-4|no word"),
        ("(7 (2 a) (2 b))", "label '7' is not one of 0-4"),
        ("(3 (2 a) (2 ))", "empty leaf"),
        ("(3 (2 a) (2 b) (2 c))", "3 phrase children"),
    ],
)
def test_malformed_trees_name_the_line(tmp_path, bad, message):
    f = tmp_path / "bad.txt"
    f.write_text("(2 (2 fine) (2 tree))\n" + bad + "\n")
    with pytest.raises(DataError, match=message) as err:
        read_sentiment_trees(f)
    assert f"{f}:2:" in str(err.value)
    assert "\n" not in str(err.value)  # nltk's caret diagram stays out of the one-line error


def test_multiline_mrg_trees(tmp_path):
    f = tmp_path / "wsj.mrg"
    f.write_text("( (S\n  (NP (DT The) (NN dog))\n  (VP (VBZ runs))))\n( (S (NP (PRP It)) (VP (VBZ ends))))\n")
    trees = read_trees(f)
    assert [ln for ln, _ in trees] == [1, 4]
    assert trees[0][1].leaves() == ["The", "dog", "runs"]


def test_any_bracketing_reads_as_a_binary_sst_tree_labels_dropped():
    from nlpseq.data.trees import read_bracketing

    want = "(2 (2 (2 the) (2 film)) (2 (2 is) (2 (2 very) (2 good))))"
    for text in ["(S (NP the film) (VP is (ADJP very good)))",
                 "((the film) (is (very good)))",
                 "(S (NP (DT the) (NN film)) (VP (VBZ is) (ADJP (RB very) (JJ good))))",
                 "(3 (2 (2 the) (2 film)) (4 (2 is) (4 (2 very) (3 good))))"]:
        assert read_bracketing(text).pformat(margin=1 << 20) == want, text
    # three parts are right-factored; a unary chain collapses to its word
    assert str(read_bracketing("(S (A1 (B1 x)) y z)")) == "(2 (2 x) (2 (2 y) (2 z)))"
    with pytest.raises(DataError, match="unbalanced"):
        read_bracketing("((a b)")
    with pytest.raises(DataError, match="no words"):
        read_bracketing("(())")
    deep = "(" * 5000 + "a b" + ")" * 5000  # read with a stack: no recursion limit
    assert read_bracketing(deep).leaves() == ["a", "b"]
