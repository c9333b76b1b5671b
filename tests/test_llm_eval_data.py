"""The module-08 data (datasets/llm_evals/): loaders, checksums, bad input, and re-scoring.

The HumanEval results were computed once by datasets/llm_evals/build.py, running each
model-written completion in the bubblewrap sandbox; the last test re-runs a sample of
them the same way and checks it gets the shipped pass/fail.
"""

import importlib.util

import pandas as pd
import pytest
from nbtools import ROOT, require_sandbox

from course import datasets
from course.datasets import DatasetError

LOADERS = {
    "judges.csv": (datasets.load_eval_judges, 32),
    "models.csv": (datasets.load_eval_models, 223),
    "humaneval_versions.csv.gz": (datasets.load_humaneval_versions, 328),
    "repeated_samples.csv.gz": (datasets.load_repeated_samples, 360),
    "hallucination_qa.csv.gz": (datasets.load_hallucination_qa, 1000),
}


def load_build_script():
    """Import datasets/llm_evals/build.py (a script, not part of the course package)."""
    spec = importlib.util.spec_from_file_location("llm_evals_build",
                                                  ROOT / "datasets/llm_evals/build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", LOADERS)
def test_each_file_loads_with_its_documented_columns(name):
    loader, rows = LOADERS[name]
    frame = loader()
    assert len(frame) == rows
    assert list(frame.columns) == {
        "judges.csv": datasets.EVAL_JUDGE_COLUMNS,
        "models.csv": datasets.EVAL_MODEL_COLUMNS,
        "humaneval_versions.csv.gz": datasets.HUMANEVAL_VERSION_COLUMNS,
        "repeated_samples.csv.gz": datasets.REPEATED_SAMPLE_COLUMNS,
        "hallucination_qa.csv.gz": datasets.HALLUCINATION_QA_COLUMNS,
    }[name]
    assert f"llm_evals/{name}" in datasets.verify_all()


@pytest.mark.parametrize("name", LOADERS)
def test_missing_file_says_how_to_restore(data_copy, name):
    (data_copy / "llm_evals" / name).unlink()
    with pytest.raises(DatasetError, match=f"llm_evals/{name} is missing.*git checkout"):
        LOADERS[name][0]()


@pytest.mark.parametrize("name", LOADERS)
def test_corrupted_file_is_refused(data_copy, name):
    path = data_copy / "llm_evals" / name
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="changed or corrupted"):
        LOADERS[name][0]()


def test_a_file_with_a_matching_checksum_but_other_columns_is_refused(data_copy):
    path = data_copy / "llm_evals" / "judges.csv"
    path.write_text(path.read_text().replace("human_agreement_pct", "agreement", 1))
    sums = data_copy / "SHA256SUMS"
    lines = [f"{datasets._sha256(path)}  llm_evals/judges.csv" if "judges" in line else line
             for line in sums.read_text().splitlines()]
    sums.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="should have the columns"):
        datasets.load_eval_judges()


def test_judges_agreement_is_in_percent_and_subsets_are_flagged():
    judges = datasets.load_eval_judges()
    assert judges["human_agreement_pct"].between(30, 75).all()
    rescaled = judges[judges["agreement_was_fraction"]]
    assert list(rescaled["judge"]) == ["weighted_alpaca_eval_gpt-4o-mini-2024-07-18"]
    assert rescaled["human_agreement_pct"].iloc[0] == pytest.approx(33.674775667807266)
    assert judges["scored_on_subset"].sum() == 14
    assert (judges.loc[judges["scored_on_subset"], "n_parsed"] <= 648).all()
    humans = judges[judges["is_humans"]].iloc[0]
    assert humans["human_agreement_pct"] == pytest.approx(65.66358024691358)
    assert humans["prob_prefer_longer"] == pytest.approx(0.63596, abs=1e-5)


def test_models_reference_and_prompt_variants():
    models = datasets.load_eval_models().set_index("model")
    assert models.loc["gpt4_1106_preview", "win_rate_pct"] == 50
    assert {"gpt4_1106_preview_verbose", "gpt4_1106_preview_concise"} <= set(models.index)
    assert models["lc_win_rate_se_pct"].isna().sum() == 175


def test_humaneval_results_and_failure_notes():
    frame = datasets.load_humaneval_versions()
    assert frame.groupby("version")["passed"].sum().to_dict() == {
        "gpt-3.5-turbo": 122, "gpt-4-turbo": 149}
    assert frame["chainforge_passed"].sum() == 327  # chainforge's broken evaluator
    failing_newer = (frame["version"] == "gpt-4-turbo") & ~frame["passed"]
    assert (frame.loc[failing_newer, "failure_note"].str.len() > 10).all()
    assert (frame.loc[~failing_newer, "failure_note"] == "").all()
    assert (frame.loc[frame["passed"], "error_type"] == "").all()
    assert (frame.loc[~frame["passed"], "error_type"] != "").all()
    assert frame.groupby("task_id").size().eq(2).all() and frame["task_id"].nunique() == 164


def test_repeated_samples_are_complete_cells_of_five():
    frame = datasets.load_repeated_samples()
    cells = frame.groupby(["model", "prompt_id"])["sample"].apply(sorted)
    assert len(cells) == 4 * 18 and all(c == [1, 2, 3, 4, 5] for c in cells)
    assert frame["response"].str.len().gt(0).all()


def test_hallucination_pairs_and_the_length_artefact():
    frame = datasets.load_hallucination_qa()
    assert frame["pair_id"].is_unique and frame["pair_id"].between(1, 10000).all()
    assert frame["hallucinated_is_longer"].sum() == 965
    longer = frame["hallucinated_answer"].str.len() > frame["right_answer"].str.len()
    assert longer.equals(frame["hallucinated_is_longer"])


def test_a_failing_program_is_scored_as_failed():
    build = load_build_script()
    assert build._failure("Traceback (most recent call last):\n  File \"x\", line 3\n"
                          "    assert f(2) == 18\n           ^^^^^\nAssertionError\n") == (
        "AssertionError", "AssertionError | at: assert f(2) == 18")


def rescoring_sample(frame):
    """Ten rows of both versions: five kinds of failure (no timeout: slow) and five passes."""
    failing = frame[~frame["passed"] & (frame["error_type"] != "Timeout")]
    failing = failing.drop_duplicates("error_type").head(5)
    passing = frame[frame["passed"]].iloc[::50].head(5)
    return pd.concat([failing, passing])


@pytest.mark.slow
def test_rescoring_a_sample_in_the_sandbox_matches_the_shipped_results():
    require_sandbox()
    build = load_build_script()
    problems = build.humaneval_problems(datasets.verify("llm_evals/HumanEval.jsonl.gz"))
    rows = rescoring_sample(datasets.load_humaneval_versions())
    assert len(rows) == 10 and set(rows["version"]) == {"gpt-3.5-turbo", "gpt-4-turbo"}
    assert rows["passed"].sum() == 5
    for row in rows.itertuples():
        result = build.score_program(build.program(problems[row.task_id], row.completion))
        assert (result["passed"], result["error_type"]) == (row.passed, row.error_type), row.task_id
