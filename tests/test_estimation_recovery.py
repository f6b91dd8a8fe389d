"""Parameter recovery: decisions simulated from known weights and eta are fitted back."""

from __future__ import annotations

import numpy as np
import pandas as pd

from talentmarket.estimation import fit, money_utility

TRUE = {"culture": 0.8, "compute": 0.3, "prestige": 0.5, "ALPHA": 1.5, "ETA": 2.0}
FACTOR_COLUMNS = ("culture", "compute", "prestige")
SPEC = {
    "columns": {"situation": "situation", "alternative": "alternative", "chosen": "chosen",
                "person": "person"},
    "coefficients": {name: name for name in FACTOR_COLUMNS},
    "money": {"alpha": "ALPHA", "eta": "ETA", "wealth": "wealth", "value": "pv"},
}  # fmt: skip


def simulate_decisions(seed: int, n_situations: int = 1500, n_offers: int = 2) -> pd.DataFrame:
    """Stay-or-move decisions drawn from DESIGN.md's random utility model.

    U_ij = ALPHA * u((W0 + PV_ij) / W0; ETA) + sum_k beta_k x_ijk + Gumbel; the long format a
    ``simulate-decisions`` command writes (situation, alternative, chosen, person, factors,
    wealth, pv).
    """
    rng = np.random.default_rng(seed)
    J = n_offers + 1
    wealth = rng.lognormal(np.log(5e6), 1.0, size=n_situations)
    pv = wealth[:, None] * rng.lognormal(0.0, 1.2, size=(n_situations, J))
    x = {name: rng.normal(0.0, 1.0, size=(n_situations, J)) for name in FACTOR_COLUMNS}
    utility = TRUE["ALPHA"] * money_utility((wealth[:, None] + pv) / wealth[:, None], TRUE["ETA"])
    for name in FACTOR_COLUMNS:
        utility = utility + TRUE[name] * x[name]
    choice = np.argmax(utility + rng.gumbel(size=utility.shape), axis=1)
    alternatives = ["stay"] + [f"offer-{k}" for k in range(1, J)]
    frame = pd.DataFrame(
        {
            "situation": np.repeat(np.arange(n_situations), J),
            "alternative": np.tile(alternatives, n_situations),
            "chosen": (np.arange(J)[None, :] == choice[:, None]).astype(int).ravel(),
            "person": np.repeat(np.arange(n_situations) // 3, J),
            "wealth": np.repeat(wealth, J),
            "pv": pv.ravel(),
        }
    )
    for name in FACTOR_COLUMNS:
        frame[name] = x[name].ravel()
    return frame


def test_true_values_within_two_standard_errors_in_at_least_90_percent() -> None:
    hits = total = 0
    for seed in range(20):
        result = fit(simulate_decisions(seed), SPEC)
        assert result.converged
        se = result.std_errors
        assert se is not None
        for name, true in TRUE.items():
            k = result.names.index(name)
            hits += abs(result.estimates[k] - true) <= 2 * se[k]
            total += 1
    assert hits / total >= 0.90, f"coverage {hits}/{total}"


def test_recovered_preferences_block_names_the_factors() -> None:
    result = fit(simulate_decisions(99, n_situations=3000), SPEC)
    prefs = result.to_preferences()
    assert list(prefs) == ["money", "culture", "compute", "prestige"]
    assert abs(prefs["culture"] - TRUE["culture"]) < 0.2
    assert result.risk_aversion is not None and abs(result.risk_aversion - TRUE["ETA"]) < 0.6
    wtp = result.willingness_to_pay()
    assert set(wtp.index) == set(FACTOR_COLUMNS)
    assert (wtp.loc[~wtp.unattainable, "estimate"] > 0).all()
    assert np.isfinite(wtp.loc[~wtp.unattainable, "std_error"]).all()
