from collections import Counter

import pytest

from faceid_tools.campaign.plan import Plan, call_id_for, index_of
from faceid_tools.client.regions import REGIONS


def test_every_block_holds_every_cell_once() -> None:
    plan = Plan(per_cell=7, seed=11)
    assert len(plan) == 3 * 4 * 7 == len(plan.entries)
    for block in range(7):
        cells = [(e.region, e.level) for e in plan if e.block == block]
        assert sorted(cells) == sorted(plan.cells)
    assert Counter((e.region, e.level) for e in plan) == {c: 7 for c in plan.cells}


def test_indices_are_positions_and_blocks_are_contiguous() -> None:
    plan = Plan(per_cell=3, seed=1)
    assert [e.index for e in plan] == list(range(len(plan)))
    assert [e.block for e in plan] == sorted(e.block for e in plan)
    assert plan[5] == plan.entries[5]


def test_same_seed_same_order_other_seed_other_order() -> None:
    a, b = Plan(per_cell=5, seed=42), Plan(per_cell=5, seed=42)
    assert a.entries == b.entries and a.fingerprint() == b.fingerprint()
    c = Plan(per_cell=5, seed=43)
    assert [(e.region, e.level) for e in a] != [(e.region, e.level) for e in c]
    assert a.fingerprint() != c.fingerprint()


def test_blocks_are_shuffled_not_in_cell_order() -> None:
    plan = Plan(per_cell=20, seed=3)
    orders = {tuple((e.region, e.level) for e in plan if e.block == b) for b in range(20)}
    assert len(orders) > 10  # 12! orders; 20 identical blocks would mean no shuffle


def test_params_rebuild_the_same_plan() -> None:
    plan = Plan(regions=("ap-hongkong", "ap-bangkok"), levels=("4", "1"), per_cell=4, seed=99)
    again = Plan.from_params(plan.params())
    assert again.entries == plan.entries


def test_default_seed_is_random_and_recorded() -> None:
    a, b = Plan(), Plan()
    assert a.seed != b.seed
    assert Plan.from_params(a.params()).fingerprint() == a.fingerprint()
    assert a.regions == REGIONS and a.levels == ("1", "2", "3", "4")


def test_select_keeps_run_order() -> None:
    plan = Plan(per_cell=2, seed=5)
    picked = plan.select({9, 2, 17})
    assert [e.index for e in picked] == [2, 9, 17]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"regions": ()},
        {"levels": ()},
        {"levels": ("5",)},
        {"levels": (4,)},
        {"regions": ("ap-bangkok", "ap-bangkok")},
        {"regions": ("ap-tokyo",)},
        {"per_cell": 0},
        {"per_cell": 1.5},
        {"seed": -1},
    ],
)
def test_bad_parameters_are_refused(kwargs: dict) -> None:
    kwargs = {"seed": 1, **kwargs}
    if kwargs.get("levels") == (4,):
        # ints are accepted and normalised to the API's strings
        assert Plan(**kwargs).levels == ("4",)
        return
    with pytest.raises(ValueError):
        Plan(**kwargs)


def test_call_ids_round_trip() -> None:
    assert call_id_for("c1", 7) == "c1-000007"
    assert index_of("c1", "c1-000007") == 7
    assert index_of("c1", "c2-000007") is None
    assert index_of("c1", "c1-upload-ap-bangkok") is None
    assert index_of("c1", "c1-7") is None
