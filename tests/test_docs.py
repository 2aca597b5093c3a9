"""The README and docs/ as a specification: every link and named file resolves, the README stays a front door.

Plain text reading only (no imports of the engine), so the whole file runs in well under a second.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 150  # the front door: what it is, the two commands, the pages, one benchmark, links

# [text](target) and ![alt](target); the target ends at the first space (a title may follow) or the closing bracket
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s[^)]*)?\)")
# a whole `code span` naming a file or folder of this repository (commands, with spaces, are not paths)
REPO_PATH = re.compile(r"`((?:core|ui|pages|bench|tools|tests|docs)/[A-Za-z0-9_./-]*|dashboard\.py|Makefile)`")
# a whole `code span` naming a module or an object of core by its dotted name
DOTTED = re.compile(r"`(core(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`")


def relative_links(page: Path) -> list[str]:
    targets = LINK.findall(page.read_text())
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.*)$", page.read_text(), re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)):
            broken.append(target)
    assert not broken, f"{page.name}: links to nothing: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_file_named_in_code_exists(page):
    missing = [name for name in REPO_PATH.findall(page.read_text()) if not (ROOT / name).exists()]
    assert not missing, f"{page.name} names files that are not in the repository: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_dotted_core_name_has_its_module(page):
    """`core.a.b.Name` must start with an existing module: its longest prefix that is a file or a package."""
    def has_module(dotted: str) -> bool:
        parts = dotted.split(".")
        prefixes = [ROOT.joinpath(*parts[:n]) for n in range(len(parts), 1, -1)]
        return any(p.with_suffix(".py").is_file() or (p / "__init__.py").is_file() for p in prefixes)
    missing = [name for name in DOTTED.findall(page.read_text()) if not has_module(name)]
    assert not missing, f"{page.name} names modules that do not exist: {missing}"


def test_docs_can_be_reached_from_the_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in relative_links(README)}
    orphans = [doc.name for doc in DOCS if doc.resolve() not in linked]
    assert not orphans, f"docs the README does not link to: {orphans}"


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) < README_MAX_LINES
    # CI and a newcomer both start from these two commands
    assert "make run" in text and "make test" in text
    assert re.search(r"!\[[^\]]*\]\(docs/img/\w+\.png\)", text), "the README shows a screenshot"


def page_titles() -> list[str]:
    """The page titles dashboard.py declares, read from its st.Page(..., title=...) calls."""
    tree = ast.parse((ROOT / "dashboard.py").read_text())
    return [kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call)
            for kw in node.keywords if kw.arg == "title" and isinstance(kw.value, ast.Constant)]


def test_the_readme_has_one_line_per_page():
    titles = page_titles()
    assert len(titles) >= 7  # the parse found the navigation
    rows = re.findall(r"^\| \*\*(\w[\w ]*)\*\* \|", README.read_text(), re.MULTILINE)
    assert rows == titles, "the README's pages table follows dashboard.py's navigation, in its order"


def cli_commands() -> set[str]:
    """Every sub-command name the CLI registers (`sub.add_parser("name", ...)` anywhere under core/cli/)."""
    names = set()
    for path in (ROOT / "core" / "cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_parser"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                names.add(node.args[0].value)
    return names


def test_every_cli_command_is_documented():
    commands = cli_commands()
    assert {"train", "evaluate", "caption"} <= commands  # the parse found the parser
    text = (ROOT / "docs" / "cli.md").read_text()
    missing = sorted(c for c in commands  # a command of a group is documented as `python -m core GROUP COMMAND `
                     if f"python -m core {c} " not in text and not re.search(rf"python -m core [\w-]+ {c} ", text))
    assert not missing, f"docs/cli.md has no usage line for: {missing}"


def test_the_architecture_map_names_every_core_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    packages = sorted(p.parent.name for p in (ROOT / "core").glob("*/__init__.py"))
    missing = [p for p in packages if f"`core/{p}/`" not in text]
    assert not missing, f"docs/architecture.md does not place these packages of core/: {missing}"


def test_the_architecture_map_lists_exactly_each_packages_modules():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for package in sorted(p.parent for p in (ROOT / "core").glob("*/__init__.py")):
        row = re.search(rf"^\| \d \| `core/{package.name}/` \|.*$", text, re.M)
        assert row, f"docs/architecture.md has no row for core/{package.name}/"
        listed = set(re.findall(r"`([a-z_]+)`", row.group(0).rsplit("|", 2)[1]))
        modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
        assert listed == modules, f"core/{package.name}/: the map lists {sorted(listed)}, the folder has {sorted(modules)}"
