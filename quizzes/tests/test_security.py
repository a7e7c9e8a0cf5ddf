"""Nobody gets in where they don't belong, and no one client can hurt the others (issue 8).

Each test here failed on the code before the fix it names; docs/security.md lists them.
"""

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from elsa import demo, settings as elsa_settings

# --- 3. SECRET_KEY ------------------------------------------------------------------------


def settings_import(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process with `env` (and no SECRET_KEY or DEBUG of ours)."""
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                          env={**base, "DJANGO_SETTINGS_MODULE": "elsa.settings", **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("key", [None, "", elsa_settings.DEVELOPMENT_SECRET_KEY], ids=["unset", "empty", "development"])
def test_without_debug_the_settings_refuse_a_missing_or_development_secret_key(key):
    done = settings_import(**({} if key is None else {"SECRET_KEY": key}))
    assert done.returncode != 0
    assert "SECRET_KEY must be set to a secret random value" in done.stderr


def test_a_real_key_starts_and_debug_alone_may_use_the_development_key():
    assert settings_import(SECRET_KEY="x" * 50).returncode == 0
    assert settings_import(DEBUG="1").returncode == 0


def test_the_demo_makes_its_own_key_once_and_keeps_it_private(tmp_path):
    first = demo.kept_secret_key(tmp_path)
    assert len(first) >= 50 and first != elsa_settings.DEVELOPMENT_SECRET_KEY
    assert demo.kept_secret_key(tmp_path) == first  # kept: cookies survive a restart
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    other = tmp_path / "other"
    other.mkdir()
    assert demo.kept_secret_key(other) != first  # random, not a constant
