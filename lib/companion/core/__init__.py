"""What every run and every page relies on: run settings (`runtime`), paths, provenance, result files, claims,
plots, the chapter registry (`chapters`), seed envelopes and the comparison of printed outputs (`printed`).

Core may use `companion.ml`, never the science, the book's machinery or the runs."""
