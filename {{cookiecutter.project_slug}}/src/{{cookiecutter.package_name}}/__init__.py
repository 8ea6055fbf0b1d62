"""The ML system's package, one sub-package per step of the 7-step ML system design."""

from .runtime import isolate_tools
from .settings import get_settings

# Before Prefect or GX can be imported through this package: they read their homes and
# telemetry switches from the environment at import time.
isolate_tools(get_settings())

__version__ = "0.1.0"
