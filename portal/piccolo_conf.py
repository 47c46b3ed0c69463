"""Piccolo's configuration: the engine (from settings) and the app registry."""

from piccolo.conf.apps import AppRegistry

from portal.db import build_engine
from portal.settings import get_settings

DB = build_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["portal.piccolo_app"])
