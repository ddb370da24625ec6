"""`dialog/` is pure logic: it must not import SDKs, web frameworks or databases."""

import ast
from pathlib import Path

FORBIDDEN = {
    "aiogram",
    "vk_api",
    "aiohttp",
    "sqlalchemy",
    "redis",
    "asyncpg",
    "aiosqlite",
    "requests",
    "httpx",
    "socket",
    "bots",
    "adapters",
    "handoff",
    "storage",
}
DIALOG = Path(__file__).resolve().parents[2] / "dialog"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_dialog_imports_nothing_impure() -> None:
    offenders = {
        f"{path.name}: {sorted(imported_roots(path) & FORBIDDEN)}"
        for path in DIALOG.rglob("*.py")
        if imported_roots(path) & FORBIDDEN
    }
    assert not offenders


def test_only_settings_reads_the_environment() -> None:
    root = DIALOG.parent
    readers = [
        str(path.relative_to(root))
        for folder in ("bots", "adapters", "dialog", "handoff", "storage")
        for path in (root / folder).rglob("*.py")
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv" in path.read_text(encoding="utf-8")
    ]
    assert readers == []


def test_the_check_itself_catches_an_sdk_import(tmp_path: Path) -> None:
    module = tmp_path / "leaky.py"
    module.write_text("import json\nfrom aiogram import Bot\nfrom .local import x\n", encoding="utf-8")
    assert imported_roots(module) & FORBIDDEN == {"aiogram"}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_database_rows_never_leave_storage() -> None:
    """The handoff side works on frozen tickets and records: no ORM model, no SQL."""
    handoff = DIALOG.parent / "handoff"
    offenders = {
        f"{path.name}: {sorted(found)}"
        for path in handoff.rglob("*.py")
        if (
            found := {
                m for m in imported_modules(path) if m == "storage.models" or m.startswith("sqlalchemy")
            }
        )
    }
    assert not offenders


# Which of our packages each package may import: imports point one way, from the processes down
# to the pure logic; an adapter implements a port of dialog/ or handoff/.
MAY_IMPORT = {
    "dialog": set(),
    "storage": {"dialog"},
    "handoff": {"dialog", "storage"},
    "adapters": {"dialog", "storage", "handoff"},
}


def test_imports_point_one_way() -> None:
    root = DIALOG.parent
    ours = {"bots", "adapters", "dialog", "handoff", "storage"}
    offenders = {
        f"{package}/{path.relative_to(root / package)}: {sorted(wrong)}"
        for package, allowed in MAY_IMPORT.items()
        for path in (root / package).rglob("*.py")
        if (wrong := (imported_roots(path) & ours) - allowed - {package})
    }
    assert not offenders
