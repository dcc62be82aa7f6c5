"""The house: folders by stage, data flowing one way, modules that say their job and stay small.

The layer rules are checked on the import graph (imports under `if TYPE_CHECKING:` are not
dependencies and are left out). Stages, in the order data flows through them:

    base < system < script < audio < speech < encode < plan < publish < diary < serve < app < validate < cli

`data` (package data) may be read by any stage. A stage imports only stages before it, and these
rules say the important ones by name: base imports nothing else of rlsaudio, script and the diary
only base,
serve never speech or audio (not even through another module), and nothing imports cli.
"""

import ast
import os
import subprocess
from pathlib import Path

import pytest
from places import FAKE_VOICE, PACKAGE, RLSAUDIO, ROOT

FAKE = FAKE_VOICE


# --------------------------------------------------------------------------- the house


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The nodes inside `if TYPE_CHECKING:` blocks: names for annotations, not dependencies."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            inside |= {id(n) for n in ast.walk(node)}
    return inside


def _is_module(name: str, root: Path) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """The rlsaudio modules a module imports, at any level (top or inside functions)."""
    module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text())
    annotations = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in annotations:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import mod` depends on mod; `from mod import name` on mod (the graph keeps
            # only names that are modules, so the other entry drops out)
            names = [f"{target}.{alias.name}" for alias in node.names]
            modules = [n for n in names if _is_module(n, root)]
            for name in modules or [target]:
                if name.startswith("rlsaudio"):
                    found.add(name)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rlsaudio")}
    return found


def _module_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    root = package.parent
    files = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for p in package.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        graph[name] = {t for t in _imports(path, root) if t in files and t != name}
    return graph


def test_no_module_imports_one_that_imports_it_back():
    graph = _module_graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_every_module_says_its_one_job():
    for path in PACKAGE.rglob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and len(doc.split()) >= 3, f"{path.relative_to(ROOT)} has no docstring naming its job"


def test_the_fake_engine_is_not_offered_to_users():
    env = {k: v for k, v in os.environ.items() if k != "RLSAUDIO_TEST_ENGINES"}
    voices = subprocess.run([*RLSAUDIO, "voices"], capture_output=True, text=True, env=env, check=True).stdout
    assert "fake" not in voices
    done = subprocess.run([*RLSAUDIO, "plan", "acupressure", "--voice", FAKE, "--estimate"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 2
    assert done.stderr == f'{FAKE}:3: engine: unknown engine "fake"; use one of: kokoro, piper, pyttsx3\n'


STAGES = ("base", "system", "script", "audio", "speech", "encode", "plan", "publish", "diary", "serve", "app", "validate",
          "cli")
ANYONE = ("data",)  # package data: read by every stage
TOP_LEVEL = {"__init__", "__main__", "plan", "validate"}  # the package face and the modules that join stages
ENTRY = ("rlsaudio.__main__",)  # `python -m rlsaudio` runs the CLI: the one module that may import it


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _reach(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Every module `start` imports, directly or through others, with one path to it."""
    paths = {start: [start]}
    todo = [start]
    while todo:
        here = todo.pop()
        for nxt in sorted(graph[here]):
            if nxt not in paths:
                paths[nxt] = paths[here] + [nxt]
                todo.append(nxt)
    return paths


def layer_violations(package: Path = PACKAGE) -> list[str]:
    """Every import that breaks a layer rule, as "importer -> imported (why)"."""
    graph = _module_graph(package)
    found = []
    for module, targets in sorted(graph.items()):
        if module in ENTRY:
            continue
        stage = _stage(module)
        for target in sorted(targets):
            other = _stage(target)
            if other in ("", stage) or other in ANYONE:
                continue
            if other == "cli":
                found.append(f"{module} -> {target} (nothing imports cli)")
            elif stage == "base":
                found.append(f"{module} -> {target} (base imports nothing else of rlsaudio)")
            elif stage == "script" and other != "base":
                found.append(f"{module} -> {target} (script imports only base)")
            elif stage == "diary" and other != "base":
                found.append(f"{module} -> {target} (the diary imports only base)")
            elif stage in STAGES and other in STAGES and STAGES.index(other) > STAGES.index(stage):
                found.append(f"{module} -> {target} ({stage} comes before {other})")
        if stage == "serve":
            for reached, path in _reach(graph, module).items():
                if _stage(reached) in ("speech", "audio"):
                    found.append(f"{' -> '.join(path)} (serve never imports speech or audio)")
    return found


def test_layer_rules_hold():
    assert layer_violations() == []


@pytest.mark.parametrize("module, line, expected", [
    ("base/units.py", "def _scratch():\n    from ..speech import voices  # noqa", [
        "rlsaudio.base.units -> rlsaudio.speech.voices (base imports nothing else of rlsaudio)"]),
    ("script/events.py", "from ..encode import formats  # noqa", [
        "rlsaudio.script.events -> rlsaudio.encode.formats (script imports only base)"]),
    ("serve/__init__.py", "from ..publish import render  # noqa", [
        "rlsaudio.serve -> rlsaudio.publish.render -> ", "(serve never imports speech or audio)"]),
    ("serve/__init__.py", "from ..encode import writers  # noqa: it imports nothing of speech or audio", []),
    ("publish/feed.py", "from ..cli import options  # noqa", [
        "rlsaudio.publish.feed -> rlsaudio.cli.options (nothing imports cli)"]),
])
def test_layer_rules_catch_a_violation(tmp_path, module, line, expected):
    """The rules are not vacuous: a scratch copy of the package with one bad import fails them."""
    import shutil

    copy = tmp_path / "rlsaudio"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "voices"))
    with open(copy / module, "a") as f:
        f.write("\n\n" + line + "\n")
    found = layer_violations(copy)
    if expected:
        assert any(all(part in violation for part in expected) for violation in found), found
    else:
        assert found == []


def test_serve_reaching_speech_through_another_module_is_caught(tmp_path):
    import shutil

    copy = tmp_path / "rlsaudio"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "voices"))
    with open(copy / "encode" / "formats.py", "a") as f:
        f.write("\n\ndef _scratch():\n    from ..speech import voices  # noqa\n")
    found = layer_violations(copy)
    assert any(v.startswith("rlsaudio.serve.") and "rlsaudio.encode.formats -> rlsaudio.speech" in v
               and v.endswith("(serve never imports speech or audio)") for v in found), found


def test_every_module_sits_in_its_stage():
    """Outside cli/ and data/, the top level holds only the package face and the joins of stages."""
    loose = {p.stem for p in PACKAGE.glob("*.py")} - TOP_LEVEL
    assert loose == set(), f"modules outside a stage: {sorted(loose)}"
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(STAGES) | set(ANYONE) | {"app", "diary"}, folders


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}


def test_each_command_s_core_is_found_by_its_name():
    """`rlsaudio X` lives in rlsaudio/cli/X.py."""
    from rlsaudio.cli import cli

    for name, command in cli.commands.items():
        assert command.callback.__module__ == f"rlsaudio.cli.{name}", (name, command.callback.__module__)
