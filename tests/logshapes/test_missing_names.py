"""A missing key has one name everywhere: ``missing_name``, used by sorting, finishing and listing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from faceid_tools.analysis._data import finish_keys, is_missing, sort_values_of, value_name
from faceid_tools.calllog.conventions import missing_name


def test_every_kind_of_missing_value_is_missing_and_named() -> None:
    for value in (None, np.nan, pd.NA, pd.NaT, "", float("nan")):
        assert is_missing(value)
        assert value_name("campaign_id", value) == "no campaign"
    assert not is_missing("c1") and not is_missing(0)
    assert missing_name("security_level") == "no level"
    assert missing_name("seq_format") == "no seq format"


def test_sorting_a_key_with_pd_na_lists_the_missing_one_last_by_name() -> None:
    values = pd.array(["c2", pd.NA, "c1", "c2"], dtype="string")  # load_calls' dtype: the crash
    assert sort_values_of("campaign_id", values) == ["c1", "c2"]
    assert sort_values_of("campaign_id", values, missing=True) == ["c1", "c2", "no campaign"]
    levels = sort_values_of("security_level", ["4", None, "1"], missing=True)
    assert levels == ["1", "4", "no level"]


def test_finished_keys_name_the_missing_group_and_sort_it_last() -> None:
    frame = pd.DataFrame(
        {"campaign_id": [None, "b", "a"], "region": [None, "ap-bangkok", None], "n": [1, 2, 3]}
    )
    out = finish_keys(frame, ["campaign_id", "region"])
    assert out["campaign_id"].tolist() == ["a", "b", "no campaign"]
    assert out["region"].tolist() == ["no region", "ap-bangkok", "no region"]
    assert list(out["region"].cat.categories)[-1] == "no region"
    assert not out[["campaign_id", "region"]].isna().any().any()
