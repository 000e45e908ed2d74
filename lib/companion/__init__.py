"""Shared library of the executable companion book: data, training, metrics, claims, results, plots."""

__version__ = "0.1.0"
