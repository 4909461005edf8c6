"""The evaluation metrics against hand-computed cases."""

from __future__ import annotations

import pytest

from tactful.signals import metrics


def test_classification_by_hand() -> None:
    gold = ["neg", "neg", "neu", "pos", "pos", "pos"]
    pred = ["neg", "neu", "neu", "pos", "neg", "pos"]
    found = metrics.classification(gold, pred)
    # recall: neg 1/2, neu 1/1, pos 2/3 -> mean 13/18
    assert found["macro_recall"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    # precision: neg 1/2, neu 1/2, pos 2/2; F1: neg 0.5, neu 2/3, pos 0.8
    assert found["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert found["accuracy"] == pytest.approx(4 / 6)


def test_a_label_never_in_gold_is_an_error_but_no_class() -> None:
    found = metrics.classification(["a", "a", "b"], ["a", "c", "b"])
    assert found["macro_recall"] == pytest.approx((0.5 + 1) / 2)


def test_binary_by_hand() -> None:
    found = metrics.binary([1, 1, 1, 0, 0], [1, 0, 1, 1, 0])
    assert found["precision"] == pytest.approx(2 / 3)
    assert found["recall"] == pytest.approx(2 / 3)
    assert found["f1"] == pytest.approx(2 / 3)
    assert found["accuracy"] == pytest.approx(3 / 5)


def test_binary_with_no_positive_prediction_is_zero_not_an_error() -> None:
    assert metrics.binary([1, 0], [0, 0])["precision"] == 0.0


def test_spearman_by_hand() -> None:
    # ranks 1..4 against 1,3,2,4: d^2 = 0+1+1+0 -> rho = 1 - 6*2/(4*15) = 0.8
    assert metrics.spearman([1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0]) == pytest.approx(0.8)
    assert metrics.spearman([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert metrics.spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) == 0.0


def test_intent_with_out_of_scope_rows() -> None:
    gold = ["a", "b", "b", "oos", "oos"]
    pred = ["a", "oos", "b", "oos", "a"]
    found = metrics.intent(gold, pred)
    assert found["accuracy"] == pytest.approx(3 / 5)
    assert found["in_scope_accuracy"] == pytest.approx(2 / 3)
    assert found["oos_recall"] == pytest.approx(1 / 2)
    assert "oos_recall" not in metrics.intent(["a", "b"], ["a", "a"])


def test_lengths_must_match_and_data_must_exist() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1"):
        metrics.classification(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no rows"):
        metrics.binary([], [])
