"""Result files and their provenance."""

import json

import numpy as np
import pytest
import torch

from companion.core.results import load_run, save_results, to_jsonable, write_claims
from companion.core.runtime import start_run


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RESULTS_DIR", str(tmp_path))
    return tmp_path


def test_to_jsonable_converts_arrays_tensors_and_numpy_scalars():
    value = {"a": np.arange(3), "t": torch.tensor([1.5]), "s": np.float64(2.0), "n": [np.int64(4)]}
    assert to_jsonable(value) == {"a": [0, 1, 2], "t": [1.5], "s": 2.0, "n": [4]}
    with pytest.raises(TypeError, match="cannot save a object"):
        to_jsonable(object())


def test_saved_run_round_trips_with_provenance(results_dir):
    run = start_run("demo", "quick", 1, "cpu")
    folder = save_results(run, {"curve": np.array([1.0, 0.5])}, params={"lr": 0.1})
    write_claims(run, [{"id": "c", "passed": True}])
    assert folder == results_dir / "quick" / "demo" / "seed-1"
    loaded = load_run("demo", "quick", seed=1)
    assert loaded["results"] == {"curve": [1.0, 0.5]}
    assert loaded["claims"] == [{"id": "c", "passed": True}]
    prov = loaded["provenance"]
    assert prov["params"] == {"lr": 0.1} and prov["profile"] == "quick" and prov["seed"] == 1
    assert prov["device"].startswith("cpu") and prov["versions"]["torch"] == torch.__version__
    assert prov["commit"] and prov["date"].endswith("Z") and prov["wall_time_s"] >= 0
    assert prov["device_type"] == "cpu" and set(prov["tf32"]) == {"matmul", "cudnn"}


def test_missing_run_loads_as_none(results_dir):
    assert load_run("nothing-here", "full") is None


@pytest.mark.parametrize("content,message", [
    ("{not json", "results.json is not valid JSON"),  # corrupt file
    ("{}", "no provenance.json"),  # a folder with results but no provenance
])
def test_bad_run_folder_is_a_clear_error_naming_the_file(results_dir, content, message):
    folder = results_dir / "full" / "demo" / "seed-0"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        load_run("demo", "full")


def test_json_files_are_sorted_and_stable(results_dir):
    run = start_run("demo", "quick", 0, "cpu")
    folder = save_results(run, {"b": 1, "a": 2}, params={})
    assert list(json.loads((folder / "results.json").read_text())) == ["a", "b"]



def test_claims_badge_counts_passes_per_profile_and_says_pending_without_a_run():
    from companion.book.sphinx.tables import badge_text

    quick = {"a": {"passed": True}, "b": {"passed": False}, "c": {"passed": True}}
    assert badge_text(quick, {}) == "Claims: quick profile 2 of 3 pass; full profile pending"
    assert badge_text({}, quick) == "Claims: quick profile pending; full profile 2 of 3 pass"
