"""Swissmetro, Biogeme's 01logit: the published answer, to Biogeme's precision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimation_data import (
    BIOGEME_01LOGIT,
    BIOGEME_01LOGIT_LL,
    SWISSMETRO_SPEC,
    DataUnavailableError,
    swissmetro_long,
)
from talentmarket.estimation import EstimationResult, fit


@pytest.fixture(scope="module")
def swissmetro() -> pd.DataFrame:
    try:
        return swissmetro_long()
    except DataUnavailableError as exc:
        pytest.skip(f"Swissmetro data unavailable: {exc}")


@pytest.fixture(scope="module")
def result(swissmetro: pd.DataFrame) -> EstimationResult:
    return fit(swissmetro, SWISSMETRO_SPEC)


def test_sample_is_biogeme_01logit_sample(swissmetro: pd.DataFrame) -> None:
    assert swissmetro.sit.nunique() == 6768
    assert len(swissmetro) == 3 * 6768
    assert (swissmetro[swissmetro.alt == "CAR"].av == 0).sum() > 0


def test_log_likelihood_and_estimates_match_biogeme(result: EstimationResult) -> None:
    assert result.converged
    assert result.log_likelihood == pytest.approx(BIOGEME_01LOGIT_LL, abs=1e-3)
    assert result.log_likelihood_null == pytest.approx(-6964.663, abs=1e-3)
    assert result.n_situations == 6768
    for name, (estimate, _, _) in BIOGEME_01LOGIT.items():
        assert result[name] == pytest.approx(estimate, abs=1e-4), name
    assert result.aic == pytest.approx(10670.5, abs=0.05)
    assert result.bic == pytest.approx(10697.78, abs=0.01)
    assert result.rho_squared == pytest.approx(0.235, abs=5e-4)


def test_standard_errors_match_biogeme_to_three_significant_digits(
    result: EstimationResult,
) -> None:
    classical, robust = result.std_errors, result.robust_std_errors
    assert classical is not None and robust is not None
    for name, (_, se, rse) in BIOGEME_01LOGIT.items():
        k = result.names.index(name)
        assert float(f"{classical[k]:.3g}") == float(f"{se:.3g}"), name
        assert float(f"{robust[k]:.3g}") == float(f"{rse:.3g}"), name
        assert classical[k] == pytest.approx(se, rel=1e-4)
        assert robust[k] == pytest.approx(rse, rel=1e-4)


def test_clustered_standard_errors_exceed_robust_ones_for_repeated_respondents(
    result: EstimationResult,
) -> None:
    clustered, robust = result.clustered_std_errors, result.robust_std_errors
    assert clustered is not None and robust is not None
    assert result.n_persons == 752
    assert np.all(clustered > robust)


def test_attributes_of_unavailable_cars_do_not_change_the_standard_errors(
    swissmetro: pd.DataFrame, result: EstimationResult
) -> None:
    noisy = swissmetro.copy()
    off = noisy.av == 0
    noisy.loc[off, "time"] = 50.0
    noisy.loc[off, "cost"] = np.nan
    other = fit(noisy, SWISSMETRO_SPEC)
    np.testing.assert_allclose(other.estimates, result.estimates, rtol=1e-10)
    assert other.std_errors is not None and result.std_errors is not None
    np.testing.assert_allclose(other.std_errors, result.std_errors, rtol=1e-8)
    assert other.robust_std_errors is not None and result.robust_std_errors is not None
    np.testing.assert_allclose(other.robust_std_errors, result.robust_std_errors, rtol=1e-8)


def test_shuffled_rows_and_dropped_unavailable_rows_give_the_same_fit(
    swissmetro: pd.DataFrame, result: EstimationResult
) -> None:
    kept = swissmetro[swissmetro.av == 1].sample(frac=1.0, random_state=0)
    spec = {**SWISSMETRO_SPEC, "columns": {k: v for k, v in SWISSMETRO_SPEC["columns"].items()
                                           if k != "available"}}  # fmt: skip
    other = fit(kept, spec)
    assert other.log_likelihood == pytest.approx(result.log_likelihood, abs=1e-8)
    np.testing.assert_allclose(other.estimates, result.estimates, atol=1e-7)


def test_value_of_time_by_delta_method(result: EstimationResult) -> None:
    wtp = result.willingness_to_pay("B_COST")
    ratio = result["B_TIME"] / result["B_COST"]
    assert wtp.loc["B_TIME", "estimate"] == pytest.approx(-ratio)
    # Delta method by hand: gradient of -b_t / b_c.
    i, j = result.names.index("B_TIME"), result.names.index("B_COST")
    g = np.zeros(result.n_parameters)
    g[i], g[j] = -1 / result["B_COST"], result["B_TIME"] / result["B_COST"] ** 2
    assert result.robust_covariance is not None
    se = float(np.sqrt(g @ result.robust_covariance @ g))
    assert wtp.loc["B_TIME", "std_error"] == pytest.approx(se, rel=1e-5)


def test_skipping_standard_errors_and_several_starts(swissmetro: pd.DataFrame) -> None:
    quick = fit(swissmetro, SWISSMETRO_SPEC, std_errors=False, starts=3, seed=1)
    assert quick.std_errors is None and quick.robust_std_errors is None
    assert len(quick.start_log_likelihoods) == 3
    assert max(quick.start_log_likelihoods) == pytest.approx(BIOGEME_01LOGIT_LL, abs=1e-3)
    assert (
        quick.to_dict()["coefficients"]["B_TIME"]["std_error"]
        != quick.to_dict()["coefficients"]["B_TIME"]["std_error"]
    )  # NaN when skipped
