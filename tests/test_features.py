"""The frozen-feature cache: exact-list hits, row reuse across lists, damaged entries ignored."""
import numpy as np


def test_rows_are_reused_across_lists_and_only_new_items_computed(home):
    from core.feature_cache import cache_path, cached_features

    calls = []

    def compute(batch):
        calls.append(list(batch))
        return np.array([[len(t), ord(t[0])] for t in batch], np.float32)

    first = cached_features("toy", ["a", "bb", "ccc"], compute, 2, "toy", progress=False)
    assert sorted(t for c in calls for t in c) == ["a", "bb", "ccc"]
    calls.clear()
    assert np.array_equal(cached_features("toy", ["a", "bb", "ccc"], compute, 2, "toy", progress=False), first)
    assert calls == []  # exact hit
    second = cached_features("toy", ["ccc", "dddd", "a"], compute, 2, "toy", progress=False)
    assert calls == [["dddd"]]  # only the new item
    assert second.tolist() == [[3, ord("c")], [4, ord("d")], [1, ord("a")]]
    calls.clear()
    cached_features("other-tower", ["a"], compute, 2, "x", progress=False)
    assert calls == [["a"]]  # another tower's rows are never borrowed
    calls.clear()
    cache_path("toy", ["a", "bb", "ccc"]).write_bytes(b"damaged")
    cache_path("toy", ["ccc", "dddd", "a"]).unlink()
    third = cached_features("toy", ["bb", "eeeee"], compute, 2, "toy", progress=False)
    assert sorted(t for c in calls for t in c) == ["bb", "eeeee"]  # the damaged entry was not trusted
    assert third.tolist() == [[2, ord("b")], [5, ord("e")]]
