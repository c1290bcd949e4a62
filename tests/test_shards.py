"""Shard-aware intervals (report/shards.py) and the small-sample expanded percentile (stats.Bootstrap): checked
against independent computations on data with known structure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm, t

from slmbench.report.shards import ShardBootstrap
from slmbench.report.stats import Bootstrap


def test_a_shared_shard_offset_widens_the_interval_and_the_method_says_so():
    rng = np.random.default_rng(4)
    categories = np.repeat(np.arange(8), 5)
    quiet = rng.normal(0, 1, categories.size)
    shared = quiet + rng.normal(0, 3, 8)[categories]  # one offset per shard
    boot = ShardBootstrap.build(categories.astype(str), 1000, rng, 0.95)
    assert boot.method.startswith("studentized shard bootstrap (8 categories")
    point, low, high = boot.interval(shared)
    assert point == pytest.approx(shared.mean())
    assert low < point < high
    # the cluster-robust SE of 8 shard means, not the SE of 40 independent questions, sets the width
    shard_means = np.array([shared[categories == c].mean() for c in range(8)])
    se = shard_means.std(ddof=1) / np.sqrt(8)
    assert (high - low) / 2 > 1.96 * se * 0.9
    assert (high - low) / 2 > 2 * 1.96 * shared.std(ddof=1) / np.sqrt(40)


def test_one_category_falls_back_to_questions_as_clusters():
    rng = np.random.default_rng(5)
    values = rng.normal(10, 2, 30)
    boot = ShardBootstrap.build(np.array(["math"] * 30), 2000, rng, 0.95)
    assert "one category" in boot.method and boot.clusters == 30
    point, low, high = boot.interval(values)
    half = t.ppf(0.975, 29) * values.std(ddof=1) / np.sqrt(30)
    assert (high - low) / 2 == pytest.approx(half, rel=0.2)


def test_missing_values_and_too_few_answers():
    boot = ShardBootstrap.build(np.array(list("aabb")), 200, np.random.default_rng(1), 0.95)
    point, low, high = boot.interval(np.array([np.nan, 1.0, np.nan, np.nan]))
    assert point == 1.0 and np.isnan(low) and np.isnan(high)


@pytest.mark.parametrize("n", [10, 40])
def test_below_fifty_questions_the_percentile_tails_are_expanded(n):
    boot = Bootstrap(n, 100, np.random.default_rng(0), 0.95)
    low, high = boot.tails_for(n)
    # the tails sit where the normal quantile equals sqrt(n/(n-1)) x Student's t quantile (Hesterberg 2015)
    assert norm.isf(low / 100) == pytest.approx(np.sqrt(n / (n - 1)) * t.ppf(0.975, n - 1), rel=1e-9)
    assert low < 2.5 and high == pytest.approx(100 - low)
    assert boot.tails_for(50) == boot.tails_for(400) == pytest.approx([2.5, 97.5])
