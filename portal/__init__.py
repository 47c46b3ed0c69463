"""Portal: a collaboration portal for government new-media teams (政务新媒体互动管理)."""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
TEMPLATES_DIR = REPO_DIR / "templates"
STATIC_DIR = REPO_DIR / "static"
MIGRATIONS_DIR = REPO_DIR / "migrations"
LOCALES_DIR = PACKAGE_DIR / "locales"

# Piccolo locates its configuration through this variable; set it before any table is used.
os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
