"""Shared library of the executable companion book, in layers: `ml` (data, models, training, metrics),
`science` (the papers' ideas), `core` (run settings, results, claims, plots, the chapter registry), `exercises`
(self-checks), `book` (the Sphinx extension and the book's editions) and `runs` (reproduce, sweeps,
benchmarks). `python -m companion` lists the commands; CONTRIBUTING.md describes the layout."""

__version__ = "0.1.0"
