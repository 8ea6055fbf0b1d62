"""The ML system's package, one sub-package per step of the 7-step ML system design."""

from .runtime import isolate_tools
from .settings import SettingsError, default_settings, get_settings

# Before Prefect or GX can be imported through this package: they read their homes and
# telemetry switches from the environment at import time. Bad settings must not break the
# import (`--help` always works): the tools get the defaults' homes, and commands report them.
try:
    isolate_tools(get_settings())
except SettingsError:
    isolate_tools(default_settings())

__version__ = "0.1.0"
