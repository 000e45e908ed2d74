"""The papers' ideas, one module each; each module's docstring names the chapters that use it.

Science stands on `companion.ml` (and `companion.errors`) only: nothing here knows about runs, result files
or the book."""
