import torch

from nlpseq.data.batching import bucket_by_length, pad_sequences
from nlpseq.nn.masks import padding_mask
from nlpseq.data.cache import encode_cached, fingerprint


def test_batches_respect_the_token_budget_and_cover_everything():
    lengths = [(i * 7) % 23 + 1 for i in range(500)]
    batches = bucket_by_length(lengths, max_tokens=100, max_sentences=16, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(500))
    for b in batches:
        assert len(b) <= 16
        assert max(lengths[i] for i in b) * len(b) <= 100


def test_batching_is_deterministic_per_seed_and_varies_across_seeds():
    lengths = [(i * 5) % 17 + 1 for i in range(300)]
    a = bucket_by_length(lengths, 64, seed=1)
    assert a == bucket_by_length(lengths, 64, seed=1)
    assert a != bucket_by_length(lengths, 64, seed=2)


def test_similar_lengths_share_a_batch():
    lengths = list(range(1, 101))
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in bucket_by_length(lengths, 200, seed=0))
    # Sorted by length, the batches cut the range into consecutive, non-overlapping pieces.
    for (lo1, hi1), (lo2, hi2) in zip(spans, spans[1:]):
        assert hi1 < lo2


def test_oversized_example_gets_its_own_batch():
    assert [len(b) for b in bucket_by_length([500, 1, 1], 100, shuffle=False)] == [2, 1]


def test_padding_and_mask():
    ids, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert padding_mask(lengths).tolist() == [[True, True, True], [True, False, False]]


def test_encode_cached_reuses_the_arrow_file():
    calls = []

    def encode(batch):
        calls.append(len(batch["text"]))
        return {"length": [len(t) for t in batch["text"]]}

    key = fingerprint("test", ["ab", "c"])
    first = encode_cached({"text": ["ab", "c"]}, encode, key)
    second = encode_cached({"text": ["ab", "c"]}, encode, key)
    assert first["length"] == second["length"] == [2, 1]
    assert calls == [2]  # the second call memory-mapped the cached Arrow table
    assert torch.tensor(second["length"]).sum() == 3
