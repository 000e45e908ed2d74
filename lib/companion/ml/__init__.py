"""Shared machine learning: datasets and their loaders, models, training loops, metrics, image helpers and
devices. It imports nothing from the rest of the package but `companion.errors`."""
