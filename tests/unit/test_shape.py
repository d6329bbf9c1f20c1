"""The code stays readable in pieces: no module over 600 lines and no function over 50, outside
the migrations (generated history) and the tests; features see the bot through their context
only (issue 24). A failure names every offender."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chatbot", "adapters", "storage")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 50


def _modules() -> list[Path]:
    found = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    assert len(found) > 50  # the walk found the code
    return sorted(found)


def test_no_module_over_600_lines():
    long = []
    for path in _modules():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            long.append(f"{path.relative_to(ROOT)}: {n} lines")
    print("\n".join(long))
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_over_50_lines():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    print("\n".join(long))
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_features_see_the_bot_through_their_context_not_the_engine():
    """A feature imports ``chatbot.context`` and asks its context (interviews, platforms,
    labels, people, the registry); reaching through ``ctx.engine`` ties it to the engine's
    insides again."""
    reaching = []
    shared = [ROOT / "chatbot" / "people.py", ROOT / "chatbot" / "wording.py"]  # the helpers features share
    for path in sorted((ROOT / "chatbot" / "features").rglob("*.py")) + shared:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, (ast.Import, ast.ImportFrom)) else []
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module == "chatbot.engine" or "chatbot.engine" in names or (module == "chatbot" and "engine" in names):
                reaching.append(f"{path.relative_to(ROOT)}:{node.lineno} imports the engine")
            if isinstance(node, ast.Attribute) and node.attr == "engine" and isinstance(node.value, ast.Name):
                reaching.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.engine")
    assert not reaching, reaching


#: what code outside chatbot/flows.py may ask the conversation and aside repositories: reads
CONVERSATION_READERS = {"get", "current", "of"}


def test_only_flows_writes_conversation_state():
    """``chatbot/flows.py`` is the only writer of conversation state (issue 24): a feature that
    starts, saves, ends or drops an interview through ``repos.conversations`` or ``repos.aside``
    skips what flows keep true (an interview it pauses carries on, one put aside is replaced or
    kept). Elsewhere those repositories are only read; handing one on (an alias) counts as writing."""
    writing = []
    for path in sorted(p for package in ("chatbot", "adapters") for p in (ROOT / package).rglob("*.py")):
        if path == ROOT / "chatbot" / "flows.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr in ("conversations", "aside")):
                continue
            owner = node.value
            if not ((isinstance(owner, ast.Attribute) and owner.attr == "repos") or (isinstance(owner, ast.Name) and owner.id == "repos")):
                continue
            used = parents.get(node)
            if not (isinstance(used, ast.Attribute) and used.attr in CONVERSATION_READERS):
                how = used.attr if isinstance(used, ast.Attribute) else type(used).__name__
                writing.append(f"{path.relative_to(ROOT)}:{node.lineno} repos.{node.attr}.{how}")
    assert not writing, writing
