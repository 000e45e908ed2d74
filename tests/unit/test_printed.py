"""companion.core.printed: the skeleton of printed text, bands over seeds, and how a cell from training compares."""

import pytest

from companion.core import printed


def stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_split_marks_numbers_verdicts_and_names_with_digits():
    skeleton, tokens = printed.split("NC1 at 0.126, conv2   rank 11  PASS\nbound 3.35e+04 (x_1 = -2)")
    assert skeleton == "@ at #, @ rank # PASS|FAIL\nbound # (@ = #)"
    assert [t.text for t in tokens] == ["NC1", "0.126", "conv2", "11", "PASS", "3.35e+04", "x_1", "-2"]
    assert [t.kind for t in tokens] == ["label", "number", "label", "number", "verdict", "number", "label",
                                        "number"]


def test_a_name_with_the_seed_in_it_must_be_the_reference_runs():
    band = printed.bands({0: "[stream:stdout]\ncnn3 s0 acc 0.9\n", 1: "[stream:stdout]\ncnn3 s1 acc 0.91\n"})
    assert band["skeleton"] == "[stream:stdout]\n@ @ acc #"
    ref = [stream("cnn3 s0 acc 0.9\n")]
    assert printed.compare_cell([stream("cnn3 s0 acc 0.905\n")], ref, band) == []
    assert "reference printed s0" in printed.compare_cell([stream("cnn3 s1 acc 0.905\n")], ref, band)[1]


def test_table_column_widths_do_not_count():
    assert printed.split("a    0.98   PASS")[0] == printed.split("a  0.1   PASS")[0]
    assert printed.split("claim measured\n----- --------")[0] == printed.split("claim measured\n----- -------")[0]


@pytest.mark.parametrize(("number", "unit"), [("0.12", 0.01), ("126", 1.0), ("3.35e+04", 100.0), ("1e-2", 0.01),
                                              ("-0.00967", 1e-5)])
def test_last_digit_unit(number, unit):
    assert printed.last_digit_unit(number) == pytest.approx(unit)


def test_bands_span_the_seeds_and_reject_seed_dependent_text():
    band = printed.bands({0: "acc 0.90 PASS", 1: "acc 0.94 PASS", 2: "acc 0.92 FAIL"})
    assert band["skeleton"] == "acc # PASS|FAIL"
    number, verdict = band["tokens"]
    assert (number["lo"], number["hi"], number["unit"]) == (0.90, 0.94, pytest.approx(0.01))
    assert verdict["values"] == ["FAIL", "PASS"]
    assert printed.allowed(number) == (pytest.approx(0.82), pytest.approx(1.02))
    assert printed.bands({0: "best: a", 1: "best: b"})["skeleton"] is None


def test_a_number_the_seeds_agree_on_may_move_one_unit_of_its_last_digit():
    band = printed.bands({0: "rank 126", 1: "rank 126"})["tokens"][0]
    assert printed.allowed(band) == (125, 127)


def test_compare_cell_passes_inside_the_band_and_fails_outside_it():
    band = printed.bands({0: "[stream:stdout]\nacc 0.90 PASS\n", 1: "[stream:stdout]\nacc 0.94 PASS\n"})
    ref = [stream("acc 0.90 PASS\n")]
    assert printed.compare_cell([stream("acc 0.97 PASS\n")], ref, band) == []
    problems = printed.compare_cell([stream("acc 0.60 PASS\n")], ref, band)
    assert problems and "0.60 outside" in problems[1]
    problems = printed.compare_cell([stream("acc 0.92 FAIL\n")], ref, band)
    assert "every seed printed PASS" in problems[1]


def test_compare_cell_reports_other_text_a_stale_band_and_a_missing_one():
    band = printed.bands({0: "[stream:stdout]\nacc 0.9\n", 1: "[stream:stdout]\nacc 0.91\n"})
    ref = [stream("acc 0.9\n")]
    assert "text differs" in printed.compare_cell([stream("loss 0.9\n")], ref, band)[0]
    assert "stale" in printed.compare_cell(ref, [stream("error 0.9\n")], band)[0]
    assert "make sweep" in printed.compare_cell(ref, ref, None)[0]


def test_cell_text_merges_streams_leaves_out_figures_and_sanitizes():
    outputs = [stream("took 3.2 s\n"), stream("done\n"),
               {"output_type": "display_data", "data": {"image/png": "AAAA", "text/plain": "<Figure>"}}]
    assert printed.cell_text(outputs) == "[stream:stdout]\ntook TIME\ndone\n\n[text/plain]\n<Figure>"


def test_compare_notebooks_is_exact_for_untagged_cells_and_banded_for_tagged_ones():
    def notebook(exact, trained):
        cells = [{"cell_type": "code", "source": "x", "metadata": {}, "outputs": [stream(exact)]},
                 {"cell_type": "code", "source": "y", "metadata": {"tags": [printed.TAG]},
                  "outputs": [stream(trained)]}]
        return {"cells": cells}

    record = printed.record({0: notebook("n = 5\n", "acc 0.90\n"), 1: notebook("n = 5\n", "acc 0.94\n")})
    assert list(record["cells"]) == ["1"] and record["seeds"] == [0, 1]
    reference = notebook("n = 5\n", "acc 0.90\n")
    assert printed.compare_notebooks(notebook("n = 5\n", "acc 0.95\n"), reference, record) == {}
    problems = printed.compare_notebooks(notebook("n = 6\n", "acc 0.50\n"), reference, record)
    assert sorted(problems) == [0, 1]


def test_bands_from_other_code_are_stale():
    def notebook(source):
        return {"cells": [{"cell_type": "code", "source": source, "metadata": {"tags": [printed.TAG]},
                           "outputs": [stream("acc 0.9\n")]}]}

    record = printed.record({0: notebook("train(lr=0.05)"), 1: notebook("train(lr=0.05)")})
    assert printed.stale(record, notebook("train(lr=0.05)")) is None
    assert "other code" in printed.stale(record, notebook("train(lr=0.1)"))
    assert "no bands" in printed.stale(None, notebook("train(lr=0.05)"))
    problems = printed.compare_notebooks(notebook("train(lr=0.1)"), notebook("train(lr=0.1)"), record)
    assert "other code" in problems[0][0]


def test_notebook_bands_need_the_same_code_at_every_seed():
    a = {"cells": [{"cell_type": "code", "source": "x", "metadata": {}, "outputs": []}]}
    b = {"cells": [{"cell_type": "code", "source": "z", "metadata": {}, "outputs": []}]}
    with pytest.raises(ValueError, match="other code"):
        printed.notebook_bands({0: a, 1: b})


def test_nbval_reads_the_same_sanitizers():
    from nbval.plugin import get_sanitize_patterns

    assert tuple(get_sanitize_patterns(printed.sanitize_config())) == printed.SANITIZE
