"""The shape of `core/` as a specification: stages import only downward, no cycles, small modules, no Streamlit.

Read from the source with `ast` (nothing is imported), so the whole file runs in well under a second.
"""
import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"

# The stages of core/, in the order imports may run: a module may import from its own stage or an earlier one.
STAGES = ["", "data", "models", "training", "runs", "insight", "jobs", "caption", "classroom", "cli"]
TOP_LEVEL = {"__init__", "errors", "recipe", "device", "storage", "bounds"}
# `python -m core` is the entry point: it stands above every stage, since all it does is call the CLI.
ENTRY = "core.__main__"
MAX_LINES = 350
# Modules over MAX_LINES today, being split as this is written. This set may only shrink: remove a name when its
# module is split, never add one.
KNOWN_OVER_350: set[str] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def stage_of(module: str) -> int:
    """The rank of a `core.*` module's stage; the entry point ranks above every stage."""
    if module == ENTRY:
        return len(STAGES)
    parts = module.split(".")
    if len(parts) == 1 or (len(parts) == 2 and parts[1] in TOP_LEVEL):
        return 0
    return STAGES.index(parts[1])


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name `path` imports, at any depth (an import inside a function is still a dependency)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; core uses absolute imports only"
            # `from core.data import images` imports the module core.data.images, not a name of core.data
            names.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                         for alias in node.names)
    return names


def core_imports(path: Path) -> set[str]:
    return {name for name in imported_modules(path) if name == "core" or name.startswith("core.")}


def test_every_module_belongs_to_a_known_stage():
    for module in MODULES:
        parts = module.split(".")
        assert module == ENTRY or len(parts) == 1 or parts[1] in TOP_LEVEL or parts[1] in STAGES, (
            f"{module} is in no stage: add its package to STAGES in the order imports run")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_downward(module):
    upward = sorted(name for name in core_imports(MODULES[module]) if stage_of(name) > stage_of(module))
    assert not upward, f"{module} (stage {STAGES[stage_of(module)] or 'top level'}) imports later stages: {upward}"


def test_no_import_cycles():
    graph = {module: {name for name in core_imports(path) if name in MODULES and name != module}
             for module, path in MODULES.items()}
    done, on_path = set(), []

    def visit(module):
        if module in on_path:
            raise AssertionError("import cycle: " + " -> ".join(on_path[on_path.index(module):] + [module]))
        if module in done:
            return
        on_path.append(module)
        for name in sorted(graph[module]):
            visit(name)
        on_path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_core_never_imports_streamlit():
    for module, path in MODULES.items():
        ui = sorted(name for name in imported_modules(path) if name.split(".")[0] in {"streamlit", "ui", "pages"})
        assert not ui, f"{module} imports {ui}: core must run without Streamlit (the CLI, tests and benchmarks use it)"


def test_no_module_over_350_lines_except_the_known_ones_being_split():
    lengths = {str(path.relative_to(CORE.parent)): len(path.read_text().splitlines()) for path in MODULES.values()}
    over = {name for name, n in lengths.items() if n > MAX_LINES}
    assert over <= KNOWN_OVER_350, f"new modules over {MAX_LINES} lines: {sorted(over - KNOWN_OVER_350)}"
    # Once split, a module leaves the list, so the list can only shrink.
    shrunk = KNOWN_OVER_350 - over
    assert not shrunk, f"now at most {MAX_LINES} lines, remove from KNOWN_OVER_350: {sorted(shrunk)}"


MAX_FUNCTION_LINES = 60
LONG_ON_PURPOSE = "# Long on purpose:"  # the comment a longer function carries, saying why a reader is better served


def test_no_function_over_60_lines_unless_it_says_why():
    long = []
    for name, path in MODULES.items():
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                text = "\n".join(source.splitlines()[node.lineno - 1:node.end_lineno])
                if lines > MAX_FUNCTION_LINES and LONG_ON_PURPOSE not in text:
                    long.append(f"{name}.{node.name} ({lines} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines without a '{LONG_ON_PURPOSE}' comment: {long}"
