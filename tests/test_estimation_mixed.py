"""Panel mixed logit on Train's electricity data against xlogit, on the very same Halton draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimation_data import (
    ELECTRICITY_VARS,
    DataUnavailableError,
    electricity_long,
    electricity_spec,
)
from talentmarket.estimation import fit, standard_draws, uniform_draws

xlogit = pytest.importorskip("xlogit")

N_DRAWS = 100


@pytest.fixture(scope="module")
def electricity() -> pd.DataFrame:
    try:
        return electricity_long()
    except DataUnavailableError as exc:
        pytest.skip(f"electricity data unavailable: {exc}")


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("kind", ["halton", "pseudo"])
def test_draws_are_xlogits(kind: str, shuffle: bool) -> None:
    model = xlogit.MixedLogit()
    model._rvdist = ["n", "ln", "t", "u"]
    np.random.seed(5)  # xlogit seeds numpy's global generator the same way
    theirs = model._generate_draws(
        23, 31, halton=kind == "halton", halton_opts={"shuffle": shuffle}
    )
    ours = standard_draws(
        uniform_draws(23, 31, 4, kind=kind, seed=5, shuffle=shuffle),
        ["normal", "lognormal", "triangular", "uniform"],
    )
    np.testing.assert_array_equal(ours, theirs)


def test_panel_mixed_logit_matches_xlogit(electricity: pd.DataFrame) -> None:
    ours = fit(electricity, electricity_spec(N_DRAWS))
    theirs = xlogit.MixedLogit()
    theirs.fit(
        X=electricity[list(ELECTRICITY_VARS)],
        y=electricity["choice"],
        varnames=list(ELECTRICITY_VARS),
        alts=electricity["alt"],
        ids=electricity["chid"],
        panels=electricity["id"],
        randvars={v: "n" for v in ELECTRICITY_VARS},
        n_draws=N_DRAWS,
        verbose=0,
    )
    assert ours.converged and theirs.convergence
    assert ours.n_situations == 4308 and ours.n_persons == 361
    assert ours.log_likelihood == pytest.approx(theirs.loglikelihood, rel=1e-3)
    # Both sit at the same optimum, ours at least as high.
    assert ours.log_likelihood >= theirs.loglikelihood - 1e-6
    assert ours.log_likelihood == pytest.approx(theirs.loglikelihood, rel=1e-7)
    for name, value in zip(theirs.coeff_names, theirs.coeff_, strict=True):
        mine = ours[str(name)]
        if str(name).startswith("sd."):  # the sign of a normal's sd is not identified
            mine, value = abs(mine), abs(value)
        assert mine == pytest.approx(value, rel=1e-3), name
    se = ours.std_errors
    assert se is not None and np.all(np.isfinite(se)) and np.all(se > 0)
    robust, clustered = ours.robust_std_errors, ours.clustered_std_errors
    assert robust is not None and clustered is not None
    np.testing.assert_allclose(clustered, robust * np.sqrt(361 / 360), rtol=1e-10)
