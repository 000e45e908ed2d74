"""`python -m companion <verb>`: one entry point for the book's commands."""

import importlib
import subprocess
import sys

import pytest

from companion.__main__ import VERBS, main


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_names_a_module_with_a_main(verb):
    assert callable(importlib.import_module(VERBS[verb][0]).main)


def test_no_verb_lists_the_verbs_and_an_unknown_one_is_a_clear_error(capsys):
    assert main([]) == 2
    listed = capsys.readouterr().out
    assert all(verb in listed for verb in VERBS)
    assert main(["--help"]) == 0
    assert main(["nope"]) == 2
    assert "unknown verb 'nope'" in capsys.readouterr().err


def test_the_chapters_verb_lists_the_written_chapters_in_order(capsys):
    from companion.core import chapters

    assert main(["chapters"]) == 0
    assert capsys.readouterr().out.split() == chapters.available()


def test_a_verb_runs_as_a_module_and_hands_on_its_options():
    out = subprocess.run([sys.executable, "-m", "companion", "reproduce", "--profile", "medium"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "unknown profile 'medium'" in out.stderr
