"""The provenance line printed under every figure, and how the book reads it back.

A chapter prints one line per figure (`plots.save_figure`, `plots.show_redrawn`); the book's Sphinx
extension finds these lines in the cell output and turns each into a small note under its figure.
This module holds the format both sides share, and imports nothing heavy.
"""

from __future__ import annotations

MARK = "[provenance]"
SEP = " · "


def regenerate_command(chapter: str, profile: str, seed: int, device: str) -> str:
    """The command that reruns a chapter with the settings that drew its figures."""
    return f"make chapter NAME={chapter} PROFILE={profile} SEED={seed} DEVICE={device}"


def provenance_line(fields: list[str], command: str) -> str:
    """One printed line: the mark, the fields and the command, separated by SEP."""
    return MARK + " " + SEP.join([*fields, command])


def parse_provenance_line(line: str) -> tuple[list[str], str] | None:
    """Split a line made by `provenance_line` into (fields, command); None for any other line."""
    line = line.strip()
    if not line.startswith(MARK) or "\n" in line:
        return None
    *fields, command = line[len(MARK):].strip().split(SEP)
    return fields, command


def split_output(text: str) -> tuple[str, list[tuple[list[str], str]]]:
    """Separate a cell's printed output into its other lines and its provenance lines (parsed)."""
    other, found = [], []
    for line in text.splitlines():
        parsed = parse_provenance_line(line)
        if parsed is None:
            other.append(line)
        else:
            found.append(parsed)
    return "\n".join(other).strip("\n"), found
