"""The layer rule: every project import — at module top or inside a function — points downward.

    core → zoo → corpus, evaluation → training → export → search, serving, app, lingualens → benchmarks

A module may import its own layer or any layer below; an import from a higher layer, or a cycle
between modules, fails here with the offending edge named.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (("core",), ("zoo",), ("corpus", "evaluation"), ("training",), ("export",),
          ("search", "serving", "app", "lingualens"), ("benchmarks",))


def layer_of(module: str) -> int:
    best, rank = -1, 0
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    if best < 0:
        raise AssertionError(f"module {module!r} belongs to no layer: add its package to LAYERS")
    return rank


def project_modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests",) or any(p.startswith(".") for p in rel.parts):
            continue
        name = ".".join(rel.with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports, resolving relative imports and `from pkg import mod`."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges[module].add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_import_points_down_the_layers():
    edges = import_edges(project_modules())
    upward = sorted(f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
                    for a, targets in edges.items() for b in targets if layer_of(b) > layer_of(a))
    assert not upward, "imports against the layer rule:\n" + "\n".join(upward)


def test_no_import_cycles():
    cycle = find_cycle(import_edges(project_modules()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checker_sees_upward_edges_and_cycles(tmp_path):
    """The rule itself must be able to fail: an upward import and a two-module cycle are caught."""
    (tmp_path / "core").mkdir()
    (tmp_path / "zoo").mkdir()
    (tmp_path / "core" / "a.py").write_text("def f():\n    from zoo.b import g\n")  # hidden in a function
    (tmp_path / "zoo" / "b.py").write_text("from core.a import f\n")
    modules = {"core.a": tmp_path / "core" / "a.py", "zoo.b": tmp_path / "zoo" / "b.py"}
    edges = import_edges(modules)
    assert edges == {"core.a": {"zoo.b"}, "zoo.b": {"core.a"}}
    assert layer_of("core.a") < layer_of("zoo.b")
    assert find_cycle(edges) in (["core.a", "zoo.b", "core.a"], ["zoo.b", "core.a", "zoo.b"])
    with pytest.raises(AssertionError, match="belongs to no layer"):
        layer_of("somewhere.else")


def test_export_and_search_use_no_training_code():
    """Serving an exported model or a gallery needs the corpus and the evaluation, never the trainer."""
    edges = import_edges(project_modules())
    leaks = sorted(f"{a} imports {b}" for a, targets in edges.items() if a.split(".")[0] in ("export", "search")
                   for b in targets if b.split(".")[0] == "training")
    assert not leaks, "\n".join(leaks)


def test_no_top_level_folder_holds_most_of_the_code():
    lines: dict[str, int] = {}
    for module, path in project_modules().items():
        top = module.split(".")[0] if "." in module or path.name == "__init__.py" else "(root files)"
        lines[top] = lines.get(top, 0) + len(path.read_text(encoding="utf-8").splitlines())
    total = sum(lines.values())
    worst = max(lines, key=lines.get)
    assert lines[worst] / total <= 0.30, f"{worst}/ holds {lines[worst] / total:.0%} of {total} lines: {lines}"


@pytest.mark.parametrize("old, new, args", [("training.data", "corpus", ["card", "--path", "/no/such/corpus"]),
                                            ("training.evaluate", "evaluation", ["--help"])])
def test_moved_commands_still_work_and_say_where_they_went(old, new, args):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", old, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert f"`python -m {old}` is now `python -m {new}`" in out.stderr
    assert ("no corpus at /no/such/corpus" in out.stderr) if new == "corpus" else out.stdout.startswith(
        "usage: python -m evaluation")
