"""What the project is configured to do and what has run so far, as one JSON-ready dict."""

from __future__ import annotations

import os
from typing import Any

from . import __version__
from .contract import load_contract
from .data.batches import read_jsonl
from .requirements import load_requirements
from .settings import Settings


def collect_status(settings: Settings) -> dict[str, Any]:
    from .preflight import tracking_store
    from .training.registry_status import registry_status

    tracking_store(settings, write=False)
    requirements = load_requirements(settings.requirements_file)
    contract = load_contract(settings.contract_file)
    log = read_jsonl(settings.ingestion_log)
    validated = sorted(settings.validated_dir.glob("*.parquet"))
    quarantined = sorted(settings.quarantine_dir.glob("*.parquet"))
    docs_index = settings.data_docs_dir / "index.html"
    return {
        "package": __package__,
        "version": __version__,
        "settings": settings.model_dump(mode="json"),
        "requirements": {
            "file": str(settings.requirements_file),
            "primary_metric": requirements.offline_metrics.primary,
            "p99_latency_ms": requirements.serving.p99_latency_ms,
        },
        "contract": {
            "file": str(settings.contract_file),
            "name": contract.name,
            "version": contract.version,
            "target": contract.target.name,
            "features": [column.name for column in contract.features],
        },
        "tools": {
            "prefect_api_url": os.environ.get("PREFECT_API_URL") or "embedded (temporary server)",
            "prefect_home": os.environ.get("PREFECT_HOME"),
            "gx_project": str(settings.gx_dir),
            "data_docs": str(docs_index) if docs_index.is_file() else None,
            "mlflow_tracking_uri": settings.tracking_uri,
        },
        "ingestion": {
            "runs": len(log),
            "validated_batches": len(validated),
            "validated_rows": sum(r["rows"] for r in log if r["status"] == "validated"),
            "quarantined_batches": len(quarantined),
            # Batches stored with values outside an expected range (within the tolerance).
            "batches_with_tolerated_values": sum(1 for r in log if r.get("warnings")),
            "last_run": log[-1] if log else None,
        },
        "registry": registry_status(settings),
    }
