import numpy as np
import torch

from nlpseq.data.batching import CHUNK, EpochBatches, LengthsInRange, Share, bucket_by_length, pad_sequences
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


def _old_shard(batches, start, rank, world):
    """The batch sharding the trainer used before batches were built lazily."""
    rest = batches[start:]
    usable = len(rest) - len(rest) % world
    return rest[rank:usable:world]


def test_a_training_set_within_one_pool_is_bucketed_whole_as_before():
    lengths = [(i * 7) % 23 + 1 for i in range(500)]
    assert list(EpochBatches(lengths, 100, 16, seed=5).iter_from(0)) == bucket_by_length(lengths, 100, 16, True, 5)


def test_examples_filtered_out_leave_the_others_batched_as_a_filtered_list_would_be():
    values = np.array([(i * 37) % 50 for i in range(3000)])
    kept = np.flatnonzero((values >= 2) & (values <= 40))
    before = [[int(kept[i]) for i in b] for b in bucket_by_length(values[kept].tolist(), 400, 32, True, 9)]
    assert list(EpochBatches(LengthsInRange(values, 2, 40), 400, 32, seed=9).iter_from(0)) == before


class _RecordingLengths:
    """Lengths that remember the longest window read from them."""

    def __init__(self, values):
        self.values, self.longest = np.asarray(values), 0

    def __len__(self):
        return len(self.values)

    def __getitem__(self, window):
        part = self.values[window]
        self.longest = max(self.longest, len(part))
        return part


def test_pooled_batches_cover_each_kept_example_once_within_budget_reading_small_windows():
    n = 5 * CHUNK + 123
    values = [(i * 7919) % 40 for i in range(n)]  # every 40th example has length 0: left out
    source = _RecordingLengths(values)
    epoch = EpochBatches(source, 300, 32, seed=2, pool=2 * CHUNK)
    batches = list(epoch.iter_from(0))
    assert len(batches) == len(epoch)
    assert sorted(i for b in batches for i in b) == [i for i in range(n) if values[i] > 0]
    for b in batches:
        assert len(b) <= 32 and max(values[i] for i in b) * len(b) <= 300
    assert source.longest <= 2 * CHUNK  # a pool at most, never the whole column
    # A pool gathers chunks from across the corpus, not neighbours only.
    first_pool = {i // CHUNK for b in batches[: epoch._counts[0]] for i in b}
    assert len(first_pool) == 2 and first_pool != {0, 1}


def test_pooled_batches_are_fixed_by_the_seed_and_resume_at_any_position():
    values = [(i * 31) % 19 + 1 for i in range(3000)]
    a = list(EpochBatches(values, 200, 16, seed=1, pool=256).iter_from(0))
    assert a == list(EpochBatches(values, 200, 16, seed=1, pool=256).iter_from(0))
    assert a != list(EpochBatches(values, 200, 16, seed=2, pool=256).iter_from(0))
    epoch = EpochBatches(values, 200, 16, seed=1, pool=256)
    assert len(epoch._counts) == 12  # 3,000 examples in pools of 256
    for start in (0, 1, epoch._counts[0] - 1, epoch._counts[0], len(a) - 1, len(a)):
        assert list(epoch.iter_from(start)) == a[start:]


def test_shares_match_slicing_the_whole_list():
    values = [(i * 31) % 19 + 1 for i in range(3000)]
    epoch = EpochBatches(values, 200, 16, seed=1, pool=256)
    whole = list(epoch.iter_from(0))
    for start, world in [(0, 1), (0, 3), (7, 2), (len(whole) - 5, 4)]:
        for rank in range(world):
            share = Share(epoch, start + rank, (len(whole) - start) // world, world)
            assert list(share) == _old_shard(whole, start, rank, world)
            assert len(share) == len(list(share))


def test_lengths_out_of_range_read_as_zero():
    column = LengthsInRange(np.array([1, 2, 5, 9, 3]), 2, 5)
    assert column[0:5].tolist() == [0, 2, 5, 0, 3]
    assert column.left_out(window=2) == 2
