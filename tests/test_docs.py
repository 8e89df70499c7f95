"""The user's docs stay true to the tree: every module they name exists, every relative link
resolves, and the README stays a manual (at most README_MAX_LINES lines; figures belong in
docs/experiments/).

Modules may move into sub-packages; when one does, these tests name the doc lines to fix.
"""
import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 215
# Docs whose module names must match the code today (the experiment reports are dated records
# and keep the names of their day).
MODULE_DOCS = ("README.md", "docs/design.md")
LINK_DOCS = ("README.md", "docs/*.md", "docs/experiments/*.md")
# Dotted names starting with these are module references: the package, and the top-level
# modules the seed notebook imports by name (`import models as M`, ...).
MODULE_ROOTS = ("vui", "char_map", "utils", "data_generator", "models", "train_utils")
PATH_SUFFIXES = (".py", ".md", ".sh", ".ipynb")

INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
TOKEN = re.compile(r"[A-Za-z0-9_./-]+")
DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _prose(text):
    """The text with fenced code blocks blanked (commands there are examples, not references);
    line numbers are kept."""
    return re.sub(r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), text,
                  flags=re.S | re.M)


def _inline_tokens(doc):
    text = _prose((ROOT / doc).read_text())
    for lineno, line in enumerate(text.splitlines(), 1):
        for span in INLINE_CODE.findall(line):
            for token in TOKEN.findall(span):
                yield lineno, token.strip(".")


def _paths(doc):
    return sorted({(n, t) for n, t in _inline_tokens(doc)
                   if t.endswith(PATH_SUFFIXES) and "/" in t and not t.startswith("../")})


def _bare_modules(doc):
    return sorted({(n, t) for n, t in _inline_tokens(doc) if t.endswith(".py") and "/" not in t})


def _dotted(doc):
    return sorted({(n, t) for n, t in _inline_tokens(doc)
                   if DOTTED.match(t) and t.split(".")[0] in MODULE_ROOTS
                   and not t.endswith(PATH_SUFFIXES)})


@functools.lru_cache(maxsize=None)
def _top_level_names(path):
    """Names a module defines or imports at its top level (inside if/try blocks too)."""
    names = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _resolve(dotted):
    """None when `dotted` names an existing module (and, after it, a name that module
    defines); otherwise what is missing."""
    parts = dotted.split(".")
    base = ROOT
    for i, part in enumerate(parts):
        if (base / part / "__init__.py").exists():
            base = base / part
            continue
        if (base / f"{part}.py").exists():
            module = base / f"{part}.py"
            rest = parts[i + 1:]
            if rest and rest[0] not in _top_level_names(module):
                return f"{module.relative_to(ROOT)} defines no {rest[0]!r}"
            return None
        if i == 0:
            return f"no module {part!r} at the repository root"
        package = base / "__init__.py"
        if part in _top_level_names(package):
            return None
        return f"no module or name {part!r} in {base.relative_to(ROOT)}/"
    return None


@pytest.mark.parametrize("doc", MODULE_DOCS)
def test_named_paths_exist(doc):
    missing = [f"{doc}:{n}: `{t}`" for n, t in _paths(doc) if not (ROOT / t).exists()]
    assert not missing, "paths named in the docs that the repository lacks:\n" + "\n".join(missing)


@pytest.mark.parametrize("doc", MODULE_DOCS)
def test_bare_module_files_are_top_level(doc):
    """`data_generator.py` without a folder means the top-level module; anything else is
    named by its path from the repository root (`vui/decode/decoders.py`)."""
    missing = [f"{doc}:{n}: `{t}`" for n, t in _bare_modules(doc) if not (ROOT / t).exists()]
    assert not missing, ("module files named without a folder that are not at the repository "
                         "root (give their path):\n" + "\n".join(missing))


@pytest.mark.parametrize("doc", MODULE_DOCS)
def test_dotted_module_names_resolve(doc):
    problems = [f"{doc}:{n}: `{t}`: {why}" for n, t in _dotted(doc) if (why := _resolve(t))]
    assert not problems, "module names in the docs that the code lacks:\n" + "\n".join(problems)


def test_the_docs_name_modules_at_all():
    """Guard against the parser silently matching nothing."""
    design = {t for _, t in _paths("docs/design.md")}
    assert {"vui/decode/decoders.py", "vui/model/ctc.py"} <= design
    assert ("data_generator.py" in {t for _, t in _bare_modules("docs/design.md")})
    assert any(t.startswith("vui.") for _, t in _dotted("README.md"))


@pytest.mark.parametrize("doc", sorted({str(p.relative_to(ROOT)) for pattern in LINK_DOCS
                                        for p in ROOT.glob(pattern)}))
def test_relative_links_resolve(doc):
    path = ROOT / doc
    broken = []
    for lineno, line in enumerate(_prose(path.read_text()).splitlines(), 1):
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"{doc}:{lineno}: {target}")
    assert not broken, "broken relative links:\n" + "\n".join(broken)


def test_readme_is_a_manual_not_a_lab_book():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move measurements and "
        "reports to docs/experiments/")


def _field_table(header):
    """{field: default as written} from the README table whose first header cell is `header`."""
    rows, inside = {}, False
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == header:
            inside = True
            continue
        if not inside:
            continue
        if not line.startswith("|"):
            break
        if set(cells[0]) <= set("-: "):
            continue
        names = re.findall(r"`(\w+)`", cells[0])
        defaults = [d.strip().strip("`") for d in cells[1].split(",")]
        assert len(names) == len(defaults), f"README row {line!r}: one default per field"
        rows.update(zip(names, defaults))
    return rows


def _as_written(value):
    if hasattr(value, "value"):            # enums: written by their value ("GRU", "concat")
        value = value.value
    if value == "":
        return '""'
    return str(value)


@pytest.mark.parametrize("cls_name, header", [("RNNModel", "`RNNModel` field"),
                                              ("CNNConfig", "`CNNConfig` field")])
def test_readme_model_tables_match_the_builder(cls_name, header):
    """The README's option tables list every field of the builder with its default, and no
    field it lacks."""
    import dataclasses
    import models
    fields = {f.name: f.default for f in dataclasses.fields(getattr(models, cls_name))}
    documented = _field_table(header)
    assert documented, f"README has no table headed {header!r}"
    assert set(documented) == set(fields), (
        f"{cls_name}: README lists {sorted(set(documented) - set(fields))} that the code lacks "
        f"and lacks {sorted(set(fields) - set(documented))}")
    wrong = {name: (documented[name], _as_written(fields[name])) for name in fields
             if documented[name] != _as_written(fields[name])}
    assert not wrong, f"{cls_name} defaults (README, code): {wrong}"
