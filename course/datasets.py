"""Load the course datasets from ``datasets/``, verified and decoded.

Every loader checks the file's SHA-256 checksum against ``datasets/SHA256SUMS``
and its shape, and raises :class:`DatasetError` with a message that says what
is wrong and how to fix it. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import pandas as pd

__all__ = [
    "DatasetError",
    "GERMAN_CREDIT_COSTS",
    "data_dir",
    "verify",
    "verify_all",
    "load_german_credit",
    "load_adult",
    "load_penguins",
    "load_acs_employment_ma",
    "load_eval_judges",
    "load_eval_models",
    "load_humaneval_versions",
    "load_repeated_samples",
    "load_hallucination_qa",
]

RESTORE_HINT = (
    "Restore the original files with `git checkout -- datasets/` "
    "(or download the course repository again)."
)

#: Cost of each kind of mistake, from the Statlog German Credit documentation:
#: approving an applicant who turns out to be a bad risk costs 5, refusing a
#: good one costs 1. Correct decisions cost nothing.
GERMAN_CREDIT_COSTS = {"false_negative": 5, "false_positive": 1}


class DatasetError(RuntimeError):
    """A dataset is missing, changed or malformed. The message says how to fix it."""


def data_dir() -> Path:
    """Return the ``datasets/`` folder (override with ``COURSE_DATASETS``)."""
    override = os.environ.get("COURSE_DATASETS")
    folder = Path(override) if override else Path(__file__).resolve().parents[1] / "datasets"
    if not folder.is_dir():
        raise DatasetError(
            f"The course datasets folder was not found at {folder}. The `course` "
            "package reads data from the repository's datasets/ folder: install it "
            "with `pip install -e .` from the repository root, or set COURSE_DATASETS "
            "to the folder's path."
        )
    return folder


def _expected_checksums(folder: Path) -> dict[str, str]:
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        raise DatasetError(f"The checksum list {sums} is missing. {RESTORE_HINT}")
    expected = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            expected[name.strip()] = digest
    return expected


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def _verified(path_str: str, mtime_ns: int) -> bool:
    """Verify one file once per process (and again if it changes on disk)."""
    path = Path(path_str)
    folder = data_dir()
    name = path.relative_to(folder).as_posix()
    expected = _expected_checksums(folder).get(name)
    if expected is None:
        raise DatasetError(f"{name} is not listed in datasets/SHA256SUMS. {RESTORE_HINT}")
    actual = _sha256(path)
    if actual != expected:
        raise DatasetError(
            f"{name} has been changed or corrupted: its SHA-256 checksum is "
            f"{actual[:12]}…, expected {expected[:12]}…. {RESTORE_HINT}"
        )
    return True


def verify(name: str) -> Path:
    """Return the path of dataset file ``name`` after checking it exists and is intact.

    ``name`` is relative to ``datasets/``, for example ``"penguins/penguins.csv"``.
    """
    path = data_dir() / name
    if not path.is_file():
        raise DatasetError(f"The data file datasets/{name} is missing. {RESTORE_HINT}")
    _verified(str(path), path.stat().st_mtime_ns)
    return path


def verify_all() -> list[str]:
    """Verify every file listed in ``datasets/SHA256SUMS``; return their names."""
    names = sorted(_expected_checksums(data_dir()))
    for name in names:
        verify(name)
    return names


def _check_shape(frame: pd.DataFrame, name: str, rows: int, columns: int) -> pd.DataFrame:
    if frame.shape != (rows, columns):
        raise DatasetError(
            f"datasets/{name} should have {rows} rows and {columns} columns but has "
            f"{frame.shape[0]} rows and {frame.shape[1]} columns. {RESTORE_HINT}"
        )
    return frame


# --- Statlog German Credit -------------------------------------------------

GERMAN_COLUMNS = [
    "checking_account", "duration_months", "credit_history", "purpose",
    "credit_amount_dm", "savings", "employed_since", "installment_rate",
    "personal_status_sex", "other_debtors", "residence_since", "property",
    "age_years", "other_installment_plans", "housing", "existing_credits",
    "job", "people_liable", "telephone", "foreign_worker", "risk",
]

#: The code table published with the Statlog data (UCI, 1994), kept to show
#: how documentation errors mislead an analysis.
GERMAN_CODES_STATLOG = {
    "checking_account": {
        "A11": "< 0 DM", "A12": "0-200 DM", "A13": ">= 200 DM or salary account",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits / all paid back", "A31": "all paid back at this bank",
        "A32": "existing credits paid so far", "A33": "delays in the past",
        "A34": "critical account / credits elsewhere",
    },
    "purpose": {
        "A40": "car (new)", "A41": "car (used)", "A42": "furniture/equipment",
        "A43": "radio/television", "A44": "domestic appliances", "A45": "repairs",
        "A46": "education", "A47": "vacation", "A48": "retraining",
        "A49": "business", "A410": "other",
    },
    "savings": {
        "A61": "< 100 DM", "A62": "100-500 DM", "A63": "500-1000 DM",
        "A64": ">= 1000 DM", "A65": "unknown / none",
    },
    "employed_since": {
        "A71": "unemployed", "A72": "< 1 year", "A73": "1-4 years",
        "A74": "4-7 years", "A75": ">= 7 years",
    },
    "personal_status_sex": {
        "A91": "male: divorced/separated",
        "A92": "female: divorced/separated/married",
        "A93": "male: single",
        "A94": "male: married/widowed",
        "A95": "female: single",
    },
    "other_debtors": {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
    "property": {
        "A121": "real estate", "A122": "savings agreement / life insurance",
        "A123": "car or other", "A124": "unknown / none",
    },
    "other_installment_plans": {"A141": "bank", "A142": "stores", "A143": "none"},
    "housing": {"A151": "rent", "A152": "own", "A153": "for free"},
    "job": {
        "A171": "unemployed / unskilled non-resident", "A172": "unskilled resident",
        "A173": "skilled employee / official",
        "A174": "management / self-employed / highly qualified",
    },
    "telephone": {"A191": "no", "A192": "yes"},
    "foreign_worker": {"A201": "yes", "A202": "no"},
    "risk": {1: "good", 2: "bad"},
}


#: The code table as corrected by Grömping (2019), "South German Credit Data:
#: Correcting a Widely Used Data Set" (Beuth University report 4/2019). It is
#: the default: the Statlog table below mislabels many columns (it would make
#: 96% of borrowers foreign workers). See datasets/german_credit/DATACARD.md.
GERMAN_CODES = {
    "checking_account": {
        "A11": "no checking account", "A12": "< 0 DM", "A13": "0-200 DM",
        "A14": ">= 200 DM or salary account",
    },
    "credit_history": {
        "A30": "delays in the past", "A31": "critical account / credits elsewhere",
        "A32": "no credits / all paid back", "A33": "existing credits paid so far",
        "A34": "all paid back at this bank",
    },
    "purpose": {
        "A40": "other", "A41": "car (new)", "A42": "car (used)",
        "A43": "furniture/equipment", "A44": "radio/television",
        "A45": "domestic appliances", "A46": "repairs", "A47": "education",
        "A48": "vacation", "A49": "retraining", "A410": "business",
    },
    "savings": {
        "A61": "unknown / none", "A62": "< 100 DM", "A63": "100-500 DM",
        "A64": "500-1000 DM", "A65": ">= 1000 DM",
    },
    "employed_since": GERMAN_CODES_STATLOG["employed_since"],
    "personal_status_sex": {
        "A91": "male: divorced/separated",
        "A92": "female: non-single, or male: single",
        "A93": "male: married/widowed",
        "A94": "female: single",
    },
    "other_debtors": GERMAN_CODES_STATLOG["other_debtors"],
    "property": {
        "A121": "unknown / none", "A122": "car or other",
        "A123": "savings agreement / life insurance", "A124": "real estate",
    },
    "other_installment_plans": GERMAN_CODES_STATLOG["other_installment_plans"],
    "housing": {"A151": "for free", "A152": "rent", "A153": "own"},
    "job": GERMAN_CODES_STATLOG["job"],
    "telephone": GERMAN_CODES_STATLOG["telephone"],
    "foreign_worker": {"A201": "no", "A202": "yes"},
    "risk": {1: "good", 2: "bad"},
}


def load_german_credit(codebook: str = "corrected") -> pd.DataFrame:
    """Load the Statlog German Credit data: 1,000 credits, codes decoded.

    Columns are readable (``"no checking account"`` rather than ``"A11"``),
    using Grömping's (2019) corrected code table; pass
    ``codebook="statlog"`` for the labels published with the data, which are
    wrong for several columns. ``installment_rate``, ``residence_since``,
    ``existing_credits`` and ``people_liable`` stay ordinal codes (1-4 or
    1-2), not amounts. The label is ``risk`` (``"good"`` or ``"bad"``) and,
    for modelling, ``bad_risk`` (1 = bad credit risk, 0 = good). See
    ``datasets/german_credit/DATACARD.md``.
    """
    tables = {"corrected": GERMAN_CODES, "statlog": GERMAN_CODES_STATLOG}
    if codebook not in tables:
        raise ValueError(f'codebook must be "corrected" or "statlog", not {codebook!r}')
    name = "german_credit/german.data"
    frame = pd.read_csv(verify(name), sep=" ", header=None, names=GERMAN_COLUMNS)
    _check_shape(frame, name, 1000, len(GERMAN_COLUMNS))
    for column, codes in tables[codebook].items():
        unknown = set(frame[column]) - set(codes)
        if unknown:
            raise DatasetError(f"datasets/{name}: unknown codes {sorted(unknown)} in {column}.")
        frame[column] = frame[column].map(codes)
    frame["bad_risk"] = (frame["risk"] == "bad").astype(int)
    return frame


# --- UCI Adult ---------------------------------------------------------------

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]
ADULT_ROWS = {"train": 32561, "test": 16281}


def _read_adult(split: str, keep_question_marks: bool) -> pd.DataFrame:
    name = f"adult/adult.{'data' if split == 'train' else 'test'}.gz"
    frame = pd.read_csv(
        verify(name), header=None, names=ADULT_COLUMNS, skipinitialspace=True,
        skiprows=1 if split == "test" else 0,
        na_values=[] if keep_question_marks else ["?"], keep_default_na=False,
    )
    _check_shape(frame, name, ADULT_ROWS[split], len(ADULT_COLUMNS))
    frame["income"] = frame["income"].str.rstrip(".")
    frame["high_income"] = (frame["income"] == ">50K").astype(int)
    return frame


def load_adult(split: str = "train", keep_question_marks: bool = False) -> pd.DataFrame:
    """Load UCI Adult (1994 US Census extract): ``split`` is "train", "test" or "all".

    Missing values, coded "?" in the file, become NaN unless
    ``keep_question_marks`` is true. The label is ``income`` (``"<=50K"`` or
    ``">50K"``) and ``high_income`` (1 for ">50K"). The test file's labels
    end with "." in the original; that is removed so the two parts agree.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f'split must be "train", "test" or "all", not {split!r}')
    if split == "all":
        parts = [_read_adult(s, keep_question_marks).assign(split=s) for s in ("train", "test")]
        return pd.concat(parts, ignore_index=True)
    return _read_adult(split, keep_question_marks)


# --- Palmer Penguins -----------------------------------------------------------


def load_penguins() -> pd.DataFrame:
    """Load Palmer Penguins: 344 penguins, 3 species, measurements in mm and g.

    Two penguins have no measurements and eleven have no recorded sex; they are
    kept (as NaN) so that handling missing data stays visible.
    """
    name = "penguins/penguins.csv"
    frame = pd.read_csv(verify(name))
    return _check_shape(frame, name, 344, 8)


# --- ACS employment, Massachusetts 2015-2018 --------------------------------------


def load_acs_employment_ma() -> pd.DataFrame:
    """Load 30,000 people aged 17-89 from the US Census ACS for Massachusetts, 2015-2018.

    The folktables ``ACSEmployment`` task (Ding et al., 2021) as packaged by
    NannyML, sampled per survey ``year``: 12,000 people from 2015 and 6,000
    from each of 2016, 2017 and 2018. Columns: ``year``, ``AGEP`` (age in
    years), 15 coded answers to the survey (``SCHL`` education, ``MAR``
    marital status, ``RELP`` relationship in the household, ``DIS``
    disability, ``ESP`` parents' employment, ``CIT`` citizenship, ``MIG``
    moved in the last year, ``MIL`` military service, ``ANC`` ancestry
    reported, ``NATIVITY``, ``DEAR``/``DEYE``/``DREM`` hearing, vision and
    cognitive difficulty, ``SEX``, ``RAC1P`` race), all integers, and the
    label ``employed`` (1 = civilian employed and at work last week, 0 =
    anything else, including not in the labour force). The codes are left as
    they are: look them up in ``datasets/acs_employment_ma/DATACARD.md``.
    """
    name = "acs_employment_ma/acs_employment_ma.csv.gz"
    frame = pd.read_csv(verify(name))
    _check_shape(frame, name, 30000, 18)
    per_year = frame["year"].value_counts().sort_index().to_dict()
    expected = {2015: 12000, 2016: 6000, 2017: 6000, 2018: 6000}
    if per_year != expected:
        raise DatasetError(
            f"datasets/{name} should have {expected} people per year but has {per_year}. "
            f"{RESTORE_HINT}"
        )
    return frame


# --- LLM evaluations (module 08): alpaca-eval, chainforge + HumanEval, hallucinations ----


def _read_llm_evals(file: str, rows: int, columns: list[str]) -> pd.DataFrame:
    """Read ``datasets/llm_evals/<file>`` after verifying it; check its shape and header."""
    name = f"llm_evals/{file}"
    frame = pd.read_csv(verify(name), keep_default_na=False, na_values=[""])
    if list(frame.columns) != columns:
        raise DatasetError(
            f"datasets/{name} should have the columns {columns} but has "
            f"{list(frame.columns)}. {RESTORE_HINT}"
        )
    return _check_shape(frame, name, rows, len(columns))


EVAL_JUDGE_COLUMNS = [
    "judge", "human_agreement_pct", "price_usd_per_1000", "time_s_per_1000",
    "spearman_corr", "pearson_corr", "bias_pct", "variance_pct", "prob_prefer_longer",
    "prob_prefer_lists", "prob_prefer_first", "n_parsed", "mode",
    "agreement_was_fraction", "scored_on_subset", "is_humans",
]


def load_eval_judges() -> pd.DataFrame:
    """Load AlpacaEval's leaderboard of automatic judges (annotators): 32 rows, one is people.

    Each row is a judge scored against 4 crowd-worker annotations of the same
    648 pairs of answers (AlpacaFarm's cross-annotation set). Columns:
    ``judge``; ``human_agreement_pct`` (% of its preferences that match the
    majority of the *other* human annotators, ties broken at random; the
    ``humans`` row is one person against the other three);
    ``price_usd_per_1000`` and ``time_s_per_1000`` (US dollars and seconds per
    1,000 annotations; NaN where the price depends on the hardware);
    ``spearman_corr``/``pearson_corr`` (agreement of the leaderboard it
    produces with the human one, on only 9 models); ``bias_pct`` and
    ``variance_pct`` (% error of its majority vs the human majority, and of
    one of its annotations vs its own majority; NaN for judges run once);
    ``prob_prefer_longer`` (probability, 0-1, that it picks the longer answer
    when the two differ by more than 30 characters), ``prob_prefer_lists``,
    ``prob_prefer_first`` (position bias; 0.5 = none); ``n_parsed`` (how many
    annotations it was scored on: 2,592 = 4 passes over the 648 pairs,
    <= 648 = one pass); ``mode`` (AlpacaEval's "minimal"/"verified" status).
    Added by the course: ``scored_on_subset`` (True when ``n_parsed`` <= 648),
    ``agreement_was_fraction`` (True for the one row the package stores as a
    fraction, multiplied by 100 here; see the datacard, the value is doubtful)
    and ``is_humans``. See ``datasets/llm_evals/DATACARD.md``.
    """
    return _read_llm_evals("judges.csv", 32, EVAL_JUDGE_COLUMNS)


EVAL_MODEL_COLUMNS = [
    "model", "win_rate_pct", "win_rate_se_pct", "lc_win_rate_pct", "lc_win_rate_se_pct",
    "discrete_win_rate_pct", "n_wins", "n_wins_base", "n_draws", "n_total",
    "avg_length_chars", "mode",
]


def load_eval_models() -> pd.DataFrame:
    """Load the AlpacaEval 2.0 leaderboard of 223 models, judged by GPT-4 Turbo.

    Each model answered up to 805 instructions; the judge
    (``weighted_alpaca_eval_gpt4_turbo``) compared each answer with the
    reference model's (``gpt4_1106_preview``, whose own row is 50 %).
    Columns: ``model``; ``win_rate_pct`` (% of comparisons won, the judge's
    probability of preferring the model, averaged); ``win_rate_se_pct`` (its
    standard error, percentage points); ``lc_win_rate_pct`` (the
    length-controlled win rate, %) and ``lc_win_rate_se_pct`` (its standard
    error, NaN for most rows); ``discrete_win_rate_pct`` (% won counting each
    comparison as a win, loss or half for a draw); ``n_wins``, ``n_wins_base``,
    ``n_draws``, ``n_total`` (counts of comparisons); ``avg_length_chars``
    (mean answer length in characters); ``mode`` ("minimal", "verified",
    "community" or "dev"; rows ending in ``_verbose``/``_concise`` are the same
    model with a prompt asking for longer or shorter answers). See
    ``datasets/llm_evals/DATACARD.md``.
    """
    return _read_llm_evals("models.csv", 223, EVAL_MODEL_COLUMNS)


HUMANEVAL_VERSION_COLUMNS = [
    "task_id", "task_number", "entry_point", "version", "passed", "error_type",
    "error_message", "failure_note", "chainforge_passed", "completion_chars", "completion",
]


def load_humaneval_versions() -> pd.DataFrame:
    """Load 328 HumanEval completions: 164 tasks x 2 model versions, re-scored by the authors.

    One row per task and ``version`` (``"gpt-3.5-turbo"``, the older, and
    ``"gpt-4-turbo"``, the newer), recorded by chainforge's example flow with
    one sample each at temperature 1. ``passed`` is the course's result of
    running HumanEval's own tests on the completion in a sandbox (the tests'
    ``check()`` is called; 10 s of CPU at most). ``error_type`` (the Python
    exception, ``"Timeout"``, or ``""`` when passed) and ``error_message``
    (its last line and the line that raised it) say why a completion failed.
    ``failure_note`` is the authors' one-line open coding of each failing
    completion of the newer version (``""`` elsewhere). ``chainforge_passed``
    is the pass/fail chainforge stored, which is wrong: its evaluator defines
    the tests and never calls them. Also ``task_number`` (0-163),
    ``entry_point`` (the function's name), ``completion_chars`` and
    ``completion`` (the code, extracted from the answer by chainforge). No
    notebook runs this code. See ``datasets/llm_evals/DATACARD.md``.
    """
    frame = _read_llm_evals("humaneval_versions.csv.gz", 328, HUMANEVAL_VERSION_COLUMNS)
    for column in ("error_type", "error_message", "failure_note"):
        frame[column] = frame[column].fillna("")
    return frame


REPEATED_SAMPLE_COLUMNS = [
    "model", "model_id", "prompt_id", "system_msg_id", "instruction_id", "sample", "passed",
    "response_chars", "response", "system_msg", "instruction",
]


def load_repeated_samples() -> pd.DataFrame:
    """Load 360 answers: 4 models x 18 prompts x 5 samples each, with a pass/fail label.

    Recorded by chainforge's example flow "comparing system messages": each
    ``model`` (``model_id`` is its OpenRouter id) was asked, 5 times at
    temperature 1 (``sample`` 1-5), for a small Racket program. A prompt
    (``prompt_id``, e.g. ``"S2-I4"``) is one of 3 system messages
    (``system_msg_id`` S1-S3, text in ``system_msg``) with one of 6
    instructions (``instruction_id`` I1-I6, text in ``instruction``).
    ``passed`` is chainforge's recorded label: True when the answer is *only*
    a code block (one markdown code block, or a single paragraph starting with
    ``(define``), i.e. it followed the format instruction; it says nothing
    about whether the code is correct. ``response`` is the answer,
    ``response_chars`` its length. Samples of the same model and prompt are
    not independent. See ``datasets/llm_evals/DATACARD.md``.
    """
    return _read_llm_evals("repeated_samples.csv.gz", 360, REPEATED_SAMPLE_COLUMNS)


HALLUCINATION_QA_COLUMNS = [
    "pair_id", "question", "right_answer", "hallucinated_answer", "right_chars",
    "hallucinated_chars", "right_words", "hallucinated_words", "hallucinated_is_longer",
    "knowledge",
]


def load_hallucination_qa() -> pd.DataFrame:
    """Load 1,000 HaluEval question-answering pairs: a right and a hallucinated answer each.

    A simple random sample of HaluEval's 10,000 QA pairs (Li et al., 2023):
    ``question`` and ``right_answer`` come from HotpotQA, ``knowledge`` is the
    Wikipedia text that supports the answer, and ``hallucinated_answer`` is a
    plausible wrong answer that ChatGPT was asked to write. ``pair_id`` is the
    pair's line number (1-10,000) in the source file. ``right_chars``,
    ``hallucinated_chars`` (characters) and ``right_words``,
    ``hallucinated_words`` (words split on white space) are the answers'
    lengths; ``hallucinated_is_longer`` is True when the hallucinated answer
    has more characters: 965 of these 1,000 pairs (96.9 % of all 10,000), so
    "the longer answer is the hallucination" is right almost always here and
    means nothing elsewhere. Licence CC BY-SA 4.0. See
    ``datasets/llm_evals/DATACARD.md``.
    """
    return _read_llm_evals("hallucination_qa.csv.gz", 1000, HALLUCINATION_QA_COLUMNS)
