"""The JSON API under /api/v1 (see portal/api/controllers.py)."""
