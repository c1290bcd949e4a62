"""judge/agreement.py against independent computations: Krippendorff's alpha against the `krippendorff`
package, the statsmodels weighted kappa against the textbook formula written out here."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from slmbench.judge.agreement import krippendorff_alpha_interval, weighted_kappa

HALF_POINTS = np.arange(0, 10.5, 0.5)  # the rubric's total scores


def padded(units: list[list[float]]) -> np.ndarray:
    """The package's layout: raters (here: repeats) x units, NaN where a unit has fewer values."""
    matrix = np.full((max(len(u) for u in units), len(units)), np.nan)
    for column, values in enumerate(units):
        matrix[: len(values), column] = values
    return matrix


@pytest.mark.parametrize("seed", range(8))
def test_alpha_matches_the_krippendorff_package_on_random_repeats(seed):
    rng = np.random.default_rng(seed)
    # units with 2 to 4 verdicts each (a failed repeat leaves a unit short), agreeing more or less
    truth = rng.choice(HALF_POINTS, size=30)
    noise = [0.0, 0.5, 1.5, 4.0][seed % 4]
    units = [list(np.clip(np.round((t + rng.normal(0, noise, rng.integers(2, 5))) * 2) / 2, 0, 10))
             for t in truth]
    ours = krippendorff_alpha_interval(units)
    theirs = krippendorff.alpha(reliability_data=padded(units), level_of_measurement="interval")
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_alpha_skips_units_with_one_value_as_the_package_does():
    units = [[1.0, 2.0], [7.5, 7.0, 8.0], [3.0], [9.0, 9.5]]
    theirs = krippendorff.alpha(reliability_data=padded(units), level_of_measurement="interval")
    assert krippendorff_alpha_interval(units) == pytest.approx(theirs, abs=1e-9)


def test_alpha_of_identical_values_is_one_where_the_package_gives_up():
    units = [[5.0, 5.0], [5.0, 5.0, 5.0]]
    assert krippendorff_alpha_interval(units) == 1.0
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff.alpha(reliability_data=padded(units), level_of_measurement="interval")


def textbook_linear_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """1 - sum(w * observed) / sum(w * expected), w = |i - j| on the score scale (Cohen 1968)."""
    categories = np.unique(np.concatenate([a, b]))
    index = {c: i for i, c in enumerate(categories)}
    observed = np.zeros((len(categories), len(categories)))
    for x, y in zip(a, b):
        observed[index[x], index[y]] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(1), observed.sum(0))
    weights = np.abs(np.subtract.outer(categories, categories))
    return float(1 - (weights * observed).sum() / (weights * expected).sum())


@pytest.mark.parametrize("seed", range(6))
def test_weighted_kappa_is_the_textbook_linear_kappa(seed):
    rng = np.random.default_rng(100 + seed)
    a = rng.choice(HALF_POINTS, size=40)
    b = np.clip(a + rng.choice([-1.0, -0.5, 0.0, 0.5, 2.0], size=40), 0, 10)
    assert weighted_kappa(a, b) == pytest.approx(textbook_linear_kappa(a, b), abs=1e-12)


def test_weighted_kappa_weighs_a_near_miss_less_than_a_far_one():
    a = np.array([2.0, 4.0, 6.0, 8.0, 10.0])
    near = weighted_kappa(a, a - 0.5)
    far = weighted_kappa(a, a[::-1])
    assert weighted_kappa(a, a) == 1.0
    assert far < 0 < near < 1


def test_weighted_kappa_of_one_value_is_undefined():
    assert np.isnan(weighted_kappa(np.array([7.0, 7.0, 7.0]), np.array([7.0, 7.0, 7.0])))
