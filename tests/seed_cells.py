"""The code cells of the seed notebook, recovered from its text export.

The seed (`../shared/seed/000_*.txt` beside the repository, or the file `VUI_SEED_NOTEBOOK`
names) is a text dump of an executed Jupyter notebook: each code cell starts at a line
`In\\xa0[N]:` (a non-breaking space), and its code is followed directly by the cell's output
(Keras summaries, printed text, printed lists of names) and then by markdown prose, with nothing
that marks where the code ends.

Python's own parser finds the end: the code is the longest run of lines after the marker that
compiles (IPython `%magic` lines count as `pass` for that check and stay in the source, since the
kernel runs them). Output that directly follows the code can compile too, so three things are then
taken off the end (checked by hand on all 162 cells; `python tests/seed_cells.py` prints them):

* blank lines and lines of only underscores or equals signs: a Keras summary begins with a rule
  of underscores, which is a valid Python name (after every `train_model(...)` cell);
* trailing statements that are bare literals: the seed's `plot_comparison()` without names prints
  the names it plots as a list of strings, which is a valid list expression (5 cells: lines
  1100, 1971, 2312, 4428, 5744);
* when no line compiles at all (one cell: `In [96]` at line 4623, whose list brackets the export
  lost), the code is the first logical line, where the brackets close, so the kernel raises the
  cell's SyntaxError instead of this parser guessing at a fix.
"""
import ast
import io
import os
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

# A copy of the users' notebook as they gave it to us (../shared/seed/), kept with the tests so
# that the replay runs wherever the repository is checked out.
SEED_DIR = Path(__file__).resolve().parent / "fixtures" / "seed"
SEED_PATH = Path(os.environ.get("VUI_SEED_NOTEBOOK")
                 or next(iter(sorted(SEED_DIR.glob("000_*.txt"))), SEED_DIR / "000_missing.txt"))
MARKER = re.compile(r"^In\s*\[(\d*)\]:\s*$")          # \s also matches the export's \xa0
MAGIC = re.compile(r"^(\s*)[%!]")
RULE = re.compile(r"^\s*(_+|=+)?\s*$")                # blank, or a rule of a Keras summary


@dataclass
class SeedCell:
    number: int | None      # N of `In [N]:`, the execution count (N repeats across the seed)
    line: int               # 1-based line of the `In [N]:` marker in the export
    source: str             # the code, IPython magics included


def plain_python(lines):
    """The lines as plain Python: magics become `pass` (same line numbers, same indentation)."""
    return "\n".join(MAGIC.sub(r"\1pass  #", line) for line in lines)


def _compiles(lines):
    try:
        compile(plain_python(lines), "<seed cell>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _is_literal(stmt):
    if not isinstance(stmt, ast.Expr):
        return False
    try:
        ast.literal_eval(stmt.value)
    except ValueError:
        return False
    return True


def _first_logical_line(lines):
    """How many lines the first statement spans (up to where its brackets close)."""
    tokens = tokenize.generate_tokens(io.StringIO(plain_python(lines) + "\n").readline)
    try:
        for token in tokens:
            if token.type == tokenize.NEWLINE:
                return token.start[0]
    except (tokenize.TokenError, SyntaxError):
        pass
    return len(lines)


def code_lines(lines):
    """The code at the start of `lines` (the text between one marker and the next)."""
    end = max(k for k in range(len(lines) + 1) if _compiles(lines[:k]))
    while end and RULE.match(lines[end - 1]):
        end -= 1
    if end == 0:
        return lines[:_first_logical_line(lines)]
    body = ast.parse(plain_python(lines[:end])).body
    while len(body) > 1 and _is_literal(body[-1]):
        end = body.pop().lineno - 1
    while end and RULE.match(lines[end - 1]):
        end -= 1
    return lines[:end]


def seed_code_cells(path=SEED_PATH):
    """Every code cell of the seed export, in the order of the export."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if MARKER.match(line)] + [len(lines)]
    cells = []
    for start, stop in zip(starts, starts[1:]):
        number = MARKER.match(lines[start]).group(1)
        code = code_lines(lines[start + 1:stop])
        cells.append(SeedCell(int(number) if number else None, start + 1, "\n".join(code)))
    return cells


if __name__ == "__main__":
    for cell in seed_code_cells(sys.argv[1] if len(sys.argv) > 1 else SEED_PATH):
        print(f"=== line {cell.line}  In [{cell.number}]")
        print(cell.source)
