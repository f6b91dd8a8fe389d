"""A synthetic market for the rounds benchmark: L labs, one cohort per lab, N researchers.

Shared by ``benchmarks/market.py`` (the array engine) and ``benchmarks/peers/mesa_rounds.py``
(the same rounds model written one agent per researcher with Mesa).
"""

from __future__ import annotations

from typing import Any


def market_scenario(n_researchers: int, n_labs: int = 20, *, seed: int = 1) -> dict[str, Any]:
    """A scenario dict: ``n_labs`` labs, each employing n/L researchers, all making offers."""
    per = n_researchers // n_labs
    labs: dict[str, Any] = {}
    cohorts: dict[str, Any] = {}
    market_labs: dict[str, Any] = {}
    for j in range(n_labs):
        lab = f"lab-{j:02d}"
        labs[lab] = {
            "leader": f"leader-{j:02d}",
            "attributes": {"culture": (j % 5 - 2) * 0.4, "compute": (j % 4) * 0.5},
            "capacity": max(per // 10, 1),
            "budget_usd": f"{max(per // 10, 1) * 3}M",
        }
        cohorts[f"staff-{j:02d}"] = {
            "employer": lab,
            "size": per,
            "wealth_usd": {"lognormal": {"median": "3M", "sigma": 0.8}},
            "risk_aversion": {"uniform": {"low": 1.0, "high": 3.0}},
            "productivity_usd": {"lognormal": {"median": "1M", "sigma": 0.7}},
            "package": {"base_usd": "300k"},
            "preferences": {
                "money": 1.0,
                "culture": {"normal": {"mean": 0.5, "sd": 0.3}},
                "compute": {"normal": {"mean": 0.3, "sd": 0.2}},
                "peers": 1.0,
            },
            "collaborators": {"within_cohort": 4},
        }
        market_labs[lab] = {
            "strategy": "posted",
            "counter": "never",
            "targets_per_round": max(per // 40, 1),
            "package": {"base_usd": f"{400 + 20 * j}k"},
        }
    return {
        "name": f"rounds-benchmark-{n_researchers}",
        "seed": seed,
        "settings": {"horizon_years": 4, "discount_rate": 0.05, "paths": 200},
        "factors": ["culture", "compute"],
        "labs": labs,
        "cohorts": cohorts,
        "market": {"engine": "rounds", "rounds": 10, "offer_expiry": 2, "labs": market_labs},
    }
