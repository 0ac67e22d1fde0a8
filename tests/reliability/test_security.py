"""Static guards (issue 15 §1.11): no shell command is built from strings (config and card
values reach jobs as data only), model files are unpickled only as tensors, YAML is parsed
with the safe loader. Each check walks the syntax tree of every source file, so a new
violation anywhere fails here with its file and line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "src/emorepro").rglob("*.py")) + sorted(
    (ROOT / "workflow/scripts").rglob("*.py")
)
SUBPROCESS = {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"}


def _calls(path: Path) -> list[tuple[ast.Call, str]]:
    """(call, dotted name of the callee) of every call in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            out.append((node, ast.unparse(node.func)))
    return out


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_rules_run_scripts_not_shell_commands() -> None:
    """Every rule runs a Python script (``script:``): no ``shell:`` or ``run:`` block, where a
    config or card string could become part of a command line."""
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]
    found = [
        f"{f.relative_to(ROOT)}:{i}"
        for f in files
        for i, line in enumerate(f.read_text().splitlines(), 1)
        if re.match(r"^\s+(shell|run):", line)
    ]
    assert found == []


def test_no_shell_and_no_command_strings() -> None:
    bad = []
    for path in SOURCES:
        for node, name in _calls(path):
            short = name.rsplit(".", 1)[-1]
            if name in {"os.system", "os.popen", "eval", "exec"} or name.startswith("os.exec"):
                bad.append(f"{_where(path, node)} {name}")
            if name.startswith("subprocess.") and short in SUBPROCESS:
                shell = [k for k in node.keywords if k.arg == "shell"]
                if shell and not (
                    isinstance(shell[0].value, ast.Constant) and shell[0].value.value is False
                ):
                    bad.append(f"{_where(path, node)} {name}(shell=...)")
                if node.args and not isinstance(node.args[0], ast.List | ast.Name):
                    bad.append(f"{_where(path, node)} {name}: command is not an argument list")
    assert bad == []


def test_model_files_are_loaded_as_tensors_only() -> None:
    """``torch.load`` always with ``weights_only=True`` (a pickled model file cannot run code);
    nothing is read with ``pickle``."""
    bad = []
    for path in SOURCES:
        for node, name in _calls(path):
            if name == "torch.load":
                kw = {k.arg: k.value for k in node.keywords}
                value = kw.get("weights_only")
                if not (isinstance(value, ast.Constant) and value.value is True):
                    bad.append(_where(path, node))
            if name in {"pickle.load", "pickle.loads", "joblib.load", "dill.load"}:
                bad.append(f"{_where(path, node)} {name}")
    assert bad == []


def test_yaml_is_parsed_with_the_safe_loader() -> None:
    bad = []
    for path in SOURCES:
        for node, name in _calls(path):
            if name in {"yaml.unsafe_load", "yaml.full_load", "yaml.load_all"}:
                bad.append(f"{_where(path, node)} {name}")
            if name == "yaml.load":
                text = ast.unparse(node)
                loader = ast.unparse(next(k.value for k in node.keywords if k.arg == "Loader"))
                source = path.read_text()
                safe = "SafeLoader" in loader or (
                    re.search(rf"{loader}\s*=\s*getattr\(yaml, \"CSafeLoader\", yaml.SafeLoader\)",
                              source) is not None
                )  # fmt: skip
                if not safe:
                    bad.append(f"{_where(path, node)} {text}")
    assert bad == []
