"""Reading labelled files (CSV/TSV by extension) and the fixed-seed splits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tactful.errors import InputRejected
from tactful.signals.datasets import column, data_dir, kfold, read_table, stratified_split


def test_csv_and_tsv_are_read_by_extension(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text('text,label\n"hello, there",pos\nbye,neg\n', encoding="utf-8")
    (tmp_path / "a.tsv").write_text("text\tlabel\nhello, there\tpos\n", encoding="utf-8")
    assert read_table(tmp_path / "a.csv")[0] == {"text": "hello, there", "label": "pos"}
    assert read_table(tmp_path / "a.tsv") == [{"text": "hello, there", "label": "pos"}]


def test_headerless_tsv_gets_goemotions_column_names(tmp_path: Path) -> None:
    (tmp_path / "g.tsv").write_text('I am "so" happy\t17,20\tabc\n', encoding="utf-8")
    rows = read_table(tmp_path / "g.tsv", header=False)
    assert rows == [{"text": 'I am "so" happy', "labels": "17,20", "id": "abc"}]


def test_bad_files_and_columns_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="no such file"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputRejected, match=r"\.csv or \.tsv"):
        read_table(tmp_path / "x.json")
    (tmp_path / "b.csv").write_text("text,label\nx,y\n", encoding="utf-8")
    with pytest.raises(InputRejected, match=r"no column 'sentence'.*text, label"):
        column(read_table(tmp_path / "b.csv"), "sentence")


def test_stratified_split_is_seeded_disjoint_and_per_label() -> None:
    labels = ["a"] * 10 + ["b"] * 5
    train, dev = stratified_split(labels, 0.2, seed=42)
    assert (train, dev) == stratified_split(labels, 0.2, seed=42)
    assert sorted(train + dev) == list(range(15))
    assert sum(labels[i] == "a" for i in dev) == 2 and sum(labels[i] == "b" for i in dev) == 1
    assert stratified_split(labels, 0.2, seed=7) != (train, dev)


def test_kfold_covers_every_row_once() -> None:
    folds = kfold(["a"] * 7 + ["b"] * 3, 3, seed=1)
    assert sorted(i for f in folds for i in f) == list(range(10))
    assert all(f for f in folds)


def test_data_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TACTFUL_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("TACTFUL_DATA_DIR")
    assert data_dir().parts[-2:] == ("shared", "data")
