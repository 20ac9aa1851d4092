"""zh-Hans throughout: every message in the code and templates has a translation in the committed catalogue.

``makemessages`` runs on a copy of the source (so the checkout is not touched) and the resulting catalogue
must have no empty and no fuzzy entry: a string added without a translation fails here, not in front of a
user. Needs GNU gettext (``bin/test`` installs it as root, as CI runs it).
"""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The project's packages as the import layers name them (pyproject.toml), less bench/, with the templates.
SOURCES = [*(package for package in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
             ["root_packages"] if package != "bench"), "templates", "locale", "manage.py"]


def _entries(text: str):
    """(msgid, [msgstr...], flags) for every entry but the header."""
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        flags = {flag.strip() for line in lines if line.startswith("#,") for flag in line[2:].split(",")}
        strings, current = {}, None
        for line in lines:
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                strings[current] = match.group(2)
            elif line.startswith('"') and current:
                strings[current] += line[1:-1]
        if strings.get("msgid"):
            yield strings["msgid"], [v for k, v in strings.items() if k.startswith("msgstr")], flags


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed (bin/test installs it)")
def test_every_message_has_a_zh_hans_translation(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, tmp_path / name)
    environment = {"PATH": "/usr/bin:/bin", "REGISTRY_VAR_DIR": str(tmp_path / "var")}
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"], cwd=tmp_path,
                   check=True, capture_output=True, env=environment)
    catalogue = (tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    entries = list(_entries(catalogue))
    assert len(entries) > 800  # the catalogue was really read
    missing = [msgid for msgid, translations, flags in entries if "fuzzy" in flags or not all(translations)]
    assert not missing, f"{len(missing)} messages without a zh-Hans translation: {missing[:10]}"
