"""partition_by_test: parts of bounded size that never split a test's attempts, in stream order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gatewatch.domain.results import Outcome, TestResult
from gatewatch.store.runs import partition_by_test


def _results(pks: list[int]) -> list[TestResult]:
    return [TestResult(test_id=f"t{pk}", outcome=Outcome.PASS, attempt=i + 1) for i, pk in enumerate(pks)]


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=200), st.integers(min_value=1, max_value=30))
def test_parts_cover_every_result_once_and_keep_each_test_whole_in_order(pks: list[int], size: int) -> None:
    results = _results(pks)
    parts = list(partition_by_test(results, pks, size))
    seen = [r for part, _ in parts for r in part]
    assert sorted(r.attempt for r in seen) == list(range(1, len(pks) + 1))
    owner: dict[int, int] = {}
    for number, (part, part_pks) in enumerate(parts):
        assert [r.test_id for r in part] == [f"t{pk}" for pk in part_pks]
        assert [r.attempt for r in part] == sorted(r.attempt for r in part)  # stream order kept
        for pk in part_pks:
            assert owner.setdefault(pk, number) == number  # a test never spans two parts


def test_a_small_run_is_one_part_as_given() -> None:
    results = _results([1, 2, 1])
    ((part, part_pks),) = partition_by_test(results, [1, 2, 1], 3)
    assert part is results
    assert part_pks == [1, 2, 1]


def test_consecutive_test_ids_spread_evenly_over_the_parts() -> None:
    pks = list(range(1, 1001))
    sizes = [len(part) for part, _ in partition_by_test(_results(pks), pks, 100)]
    assert sizes == [100] * 10
