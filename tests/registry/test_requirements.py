"""The locked requirements (requirements/README.md): two sets, every package pinned with its hashes, the
runtime set enough for the product and free of development tools, the image installing it alone."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
# The project's packages, as the import layers name them (pyproject.toml); what runs in production is all of
# them less bench/ (and tests/), which are development.
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
PRODUCT = [*(package for package in PACKAGES if package != "bench"), "manage.py", "gunicorn.conf.py"]
OWN = {*PACKAGES, "tests"}
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[a-z0-9,_-]+\])?==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """{package: (version, hashes)} of a compiled lock; fails on any line that is not a hashed pin."""
    text = (REQUIREMENTS / name).read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.fullmatch(line)
        assert match, f"{name}: not a pin with hashes: {line[:80]}"
        pins[canonical(match[1])] = (match[2], frozenset(re.findall(r"sha256:([0-9a-f]{64})", match[3])))
    return pins


def sources(name: str) -> set[str]:
    """The packages a .in file names (its own lines, not those of the files it includes)."""
    names = set()
    for line in (REQUIREMENTS / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonical(re.split(r"[\[=<>~!; ]", line, maxsplit=1)[0]))
    return names


@pytest.mark.parametrize("name", ["base.txt", "dev.txt"])
def test_every_locked_package_is_pinned_with_hashes(name):
    assert len(locked(name)) > 50


@pytest.mark.parametrize(("source", "lock"), [("base.in", "base.txt"), ("dev.in", "dev.txt")])
def test_each_lock_is_compiled_from_its_current_source(source, lock):
    assert sources(source) - set(locked(lock)) == set(), f"recompile: requirements/compile ({source} changed)"


def test_dev_set_holds_the_runtime_set_at_the_same_pins_and_hashes():
    base, dev = locked("base.txt"), locked("dev.txt")
    assert {name: pin for name, pin in dev.items() if name in base} == base


def test_runtime_set_has_no_development_tools():
    tools = sources("dev.in") | {"pytest", "playwright", "schemathesis", "hypothesis", "ruff", "import-linter"}
    assert tools & set(locked("base.txt")) == set()


def test_runtime_set_provides_every_package_the_product_imports():
    """Each third-party module that the product's code imports (at the top or inside a function) or lists
    in INSTALLED_APPS comes from a package in base.txt: bin/run and the image have nothing else."""
    modules = {app.split(".")[0] for app in settings.INSTALLED_APPS}
    files = [path for entry in PRODUCT for path in ([ROOT / entry] if entry.endswith(".py") else
                                                     (ROOT / entry).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - OWN - set(sys.stdlib_module_names)
    providers = importlib.metadata.packages_distributions()
    unknown = {module for module in third_party if module not in providers}
    assert unknown == set(), "imported but installed by no package"
    runtime = set(locked("base.txt"))
    missing = {module: providers[module] for module in third_party
               if not any(canonical(dist) in runtime for dist in providers[module])}
    assert missing == {}, "imported by the product but only in the development set"
    assert {"django", "celery", "faker"} <= third_party  # the walk found the imports


def test_image_installs_the_runtime_set_only_with_hashes():
    installs = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip install" in line]
    assert installs == ["RUN pip install --require-hashes -r requirements/base.txt"]
    left_out = set((ROOT / ".dockerignore").read_text().splitlines())
    assert {"tests", "bench"} <= left_out


@pytest.mark.parametrize(("script", "lock"), [("bin/run", "base.txt"), ("bin/test", "dev.txt")])
def test_bin_run_installs_the_runtime_set_and_bin_test_the_development_set(script, lock):
    installs = [line.strip() for line in (ROOT / script).read_text().splitlines()
                if "pip install" in line and not line.lstrip().startswith("#")]
    assert installs, f"{script} installs nothing"
    assert all(line.endswith(f"--require-hashes -r requirements/{lock}") for line in installs), installs


def test_there_is_no_requirements_txt_beside_the_locks():
    # A requirements.txt brought back by a merge would be installed by nothing: its packages belong in
    # requirements/base.in or dev.in, then requirements/compile.
    assert not (ROOT / "requirements.txt").exists()
