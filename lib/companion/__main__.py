"""`python -m companion <verb> [options]`: the book's commands, one entry point for the Makefile, the sweep's
jobs and the docs. `python -m companion <verb> --help` says what each takes."""

from __future__ import annotations

import importlib
import sys

from companion.errors import ConfigError

# verb: (module with a `main(argv) -> int`, what it does)
VERBS = {
    "reproduce": ("companion.runs.reproduce", "run chapters with papermill at one profile, device and seed"),
    "sweep": ("companion.runs.sweep", "run chapters over many seeds, here or on Slurm, and aggregate envelopes"),
    "bench": ("companion.runs.bench", "time the quick chapters and the book's builds on this machine"),
    "throughput": ("companion.runs.throughput", "compare the book's training loop with a DataLoader loop on a GPU"),
    "prebuild": ("companion.book.prebuild", "execute stale chapters in parallel into the book's execution cache"),
    "student": ("companion.book.student", "write the student edition's configuration and chapter sources"),
    "chapters": ("companion.core.chapters", "list the chapters that are written, in the book's order"),
}


def usage() -> str:
    width = max(map(len, VERBS))
    lines = [f"  {verb:{width}s}  {what}" for verb, (_, what) in VERBS.items()]
    return "usage: python -m companion <verb> [options]\n\nverbs:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        print(f"error: unknown verb {verb!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        return importlib.import_module(VERBS[verb][0]).main(rest)
    except ConfigError as err:  # bad input met below a verb's own checks: its message, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
