"""How a registered version scores: its compiled path when it has one, else its pipeline; for
training (the champion on a new holdout), serving, batch scoring and monitoring alike."""

from __future__ import annotations

import logging

from ..contract import DataContract
from ..modeling.scoring import PipelineModel, ScoringModel
from ..settings import ScoringPath
from . import registry

logger = logging.getLogger(__name__)


def load_scoring_model(
    version: registry.ModelVersion, contract: DataContract, scoring_path: ScoringPath
) -> ScoringModel:
    """How `version` scores: its compiled path unless it has none (or `scoring_path` says
    "pipeline"), else its pipeline. Says once, when it loads, which one and why."""
    label = version.label
    if scoring_path == "compiled" and version.compiled:
        try:
            compiled = registry.load_compiled(version)
        except registry.ArtifactMismatchError:
            raise  # tampered or unrecorded files: the version is not served, by any path
        except registry.ModelLoadError as error:
            logger.warning("%s; scoring with its scikit-learn pipeline instead", error)
        else:
            logger.info("%s scores with its compiled path (%s)", label, compiled.description)
            return compiled
    elif scoring_path == "compiled":
        logger.warning(
            "%s has no compiled scoring path (%s): scoring with its scikit-learn pipeline",
            label,
            version.compiled_note or "trained before compiled paths existed",
        )
    return PipelineModel(registry.load_model(version), contract)
