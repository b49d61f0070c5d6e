"""House rule: Qt lives in gui/ only; pipeline/ and models/ never import it (checked on the source)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qtpy")


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_does_not_import_qt() -> None:
    offenders = []
    for package in ("pipeline", "models"):
        for path in (ROOT / package).rglob("*.py"):
            bad = [m for m in imported_modules(path) if m.split(".")[0] in QT_MODULES]
            if bad:
                offenders.append(f"{path.relative_to(ROOT)}: {bad}")
    assert not offenders


def test_engine_does_not_import_gui() -> None:
    for package in ("pipeline", "models"):
        for path in (ROOT / package).rglob("*.py"):
            assert not [m for m in imported_modules(path) if m.split(".")[0] == "gui"], path


def test_gui_reaches_the_models_through_the_pipeline() -> None:
    for path in (ROOT / "gui").rglob("*.py"):
        assert not [m for m in imported_modules(path) if m.split(".")[0] == "models"], path
