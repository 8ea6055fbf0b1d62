"""Step 1, clarify requirements: the goals and limits every later step is checked against."""

from .metrics import MetricName
from .spec import (
    DriftThresholds,
    ExperimentRules,
    MetricThreshold,
    OfflineMetrics,
    OnlineMetrics,
    Scale,
    ServingObjectives,
    SystemRequirements,
    load_requirements,
)

__all__ = [
    "DriftThresholds",
    "ExperimentRules",
    "MetricName",
    "MetricThreshold",
    "OfflineMetrics",
    "OnlineMetrics",
    "Scale",
    "ServingObjectives",
    "SystemRequirements",
    "load_requirements",
]
