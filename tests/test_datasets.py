
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
    assert len(datasets.verify_all()) == 12


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


def test_acs_employment_ma_years_codes_and_label():
    frame = datasets.load_acs_employment_ma()
    assert frame.shape == (30000, 18)
    assert frame["year"].value_counts().sort_index().to_dict() == {
        2015: 12000, 2016: 6000, 2017: 6000, 2018: 6000}
    assert frame["AGEP"].between(17, 89).all()
    assert set(frame["employed"]) == {0, 1}
    assert set(frame["SEX"]) == {1, 2}
    assert set(frame["RAC1P"]) <= set(range(1, 10))
    assert set(frame["ANC"]) == {1, 2, 3, 4}
    assert frame.notna().all().all()
    assert 0.59 < frame["employed"].mean() < 0.63
    # The drift the monitoring module finds: more people leave ancestry unreported.
    not_reported = (frame["ANC"] == 4).groupby(frame["year"]).mean()
    assert not_reported[2018] - not_reported[2015] > 0.02


def test_acs_employment_ma_wrong_year_counts_are_refused(data_copy):
    import gzip

    path = data_copy / "acs_employment_ma" / "acs_employment_ma.csv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines[1] = "2019" + lines[1][4:]  # same shape, one row moved to another year
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    sums = data_copy / "SHA256SUMS"
    digest = datasets._sha256(path)
    sums.write_text("".join(
        f"{digest}  acs_employment_ma/acs_employment_ma.csv.gz\n" if "acs_employment" in line
        else line + "\n" for line in sums.read_text().splitlines()))
    with pytest.raises(DatasetError, match="people per year"):
        datasets.load_acs_employment_ma()


def test_acs_employment_ma_corrupted_file_is_refused(data_copy):
    path = data_copy / "acs_employment_ma" / "acs_employment_ma.csv.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="changed or corrupted"):
        datasets.load_acs_employment_ma()
