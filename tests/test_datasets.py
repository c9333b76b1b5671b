import shutil

import pytest

from course import datasets
from course.datasets import DatasetError


def test_german_credit_is_decoded():
    frame = datasets.load_german_credit()
    assert frame.shape == (1000, 22)
    assert frame["bad_risk"].sum() == 300
    assert not frame["checking_account"].str.startswith("A1").any()
    assert set(frame["risk"]) == {"good", "bad"}


def test_adult_parts_agree():
    train, test = datasets.load_adult("train"), datasets.load_adult("test")
    assert len(train) == 32561 and len(test) == 16281
    assert set(train["income"]) == set(test["income"]) == {"<=50K", ">50K"}
    assert train["workclass"].isna().sum() > 0
    raw = datasets.load_adult("train", keep_question_marks=True)
    assert (raw["workclass"] == "?").sum() == train["workclass"].isna().sum()
    assert len(datasets.load_adult("all")) == len(train) + len(test)
    with pytest.raises(ValueError, match="split must be"):
        datasets.load_adult("validation")


def test_penguins():
    assert datasets.load_penguins().shape == (344, 8)


def test_every_file_matches_its_checksum():
    assert len(datasets.verify_all()) == 5


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    copy = tmp_path / "datasets"
    shutil.copytree(datasets.data_dir(), copy)
    monkeypatch.setenv("COURSE_DATASETS", str(copy))
    return copy


def test_missing_file_says_how_to_restore(data_copy):
    (data_copy / "penguins" / "penguins.csv").unlink()
    with pytest.raises(DatasetError, match="missing.*git checkout"):
        datasets.load_penguins()


def test_corrupted_file_is_refused(data_copy):
    path = data_copy / "german_credit" / "german.data"
    path.write_text(path.read_text().replace("A11", "A12", 1))
    with pytest.raises(DatasetError, match="changed or corrupted"):
        datasets.load_german_credit()


def test_truncated_file_is_refused_even_with_a_matching_checksum(data_copy):
    path = data_copy / "penguins" / "penguins.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:100]) + "\n")
    sums = data_copy / "SHA256SUMS"
    digest = datasets._sha256(path)
    lines = [f"{digest}  penguins/penguins.csv" if "penguins" in line else line
             for line in sums.read_text().splitlines()]
    sums.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="should have 344 rows"):
        datasets.load_penguins()


def test_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATASETS", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="datasets folder was not found"):
        datasets.load_penguins()


def test_german_credit_codebooks():
    corrected = datasets.load_german_credit()
    statlog = datasets.load_german_credit(codebook="statlog")
    # Grömping (2019): the published table swaps foreign_worker's two codes.
    assert (corrected["foreign_worker"] == "yes").sum() == 37
    assert (statlog["foreign_worker"] == "yes").sum() == 963
    assert (corrected["personal_status_sex"] == "female: single").sum() == 92
    with pytest.raises(ValueError, match="codebook must be"):
        datasets.load_german_credit(codebook="other")
