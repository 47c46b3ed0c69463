"""The inquiries workflow's HTTP routes (pages, partials and API), collected for the app."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
