"""Great Expectations validation of a batch against the data contract.

The expectation suite is built from the contract every run (and saved in the GX project for
review), so the contract stays the single source: edit contract.yaml, never the suite JSON.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from ..contract import DataContract
from .batches import exclusive
from .offline_docs import make_offline

DATASOURCE = "ingestion"
BATCH_DEFINITION = "whole_batch"
DOCS_SITE = "local_site"
SHOWN_EXAMPLES = 5
# Marks the expectations that are tolerances (the `expected` ranges), in Data Docs too.
EXPECTED_NOTE = "expected range: a share of values may fall outside (the contract's tolerance)"


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str
    column: str | None
    detail: str

    def __str__(self) -> str:
        where = f"{self.column}: " if self.column else "table: "
        return f"{where}{self.detail} [{self.expectation}]"


@dataclass(frozen=True)
class ValidationReport:
    success: bool
    rows: int
    evaluated: int
    failures: tuple[ExpectationFailure, ...] = ()
    data_docs: str | None = None
    suite: str = ""
    # Values outside an expected range, within the contract's tolerance: the batch passed.
    warnings: tuple[ExpectationFailure, ...] = ()

    def summary(self) -> str:
        head = (
            f"{self.rows} rows passed all {self.evaluated} expectations of suite {self.suite}"
            if self.success
            else f"{len(self.failures)} of {self.evaluated} expectations failed "
            f"on {self.rows} rows (suite {self.suite}):"
        )
        lines = [head, *(f"  - {failure}" for failure in self.failures)]
        if self.warnings:
            lines.append("Within the contract's tolerance (stored, and reported to monitoring):")
            lines.extend(f"  - {warning}" for warning in self.warnings)
        if self.data_docs:
            lines.append(f"Data Docs: {self.data_docs}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def suite_name(contract: DataContract) -> str:
    return f"{contract.name}_v{contract.version}"


def build_expectations(contract: DataContract) -> list[gxe.Expectation]:
    """Translate every rule of the contract into an expectation."""
    expectations: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=contract.column_names, exact_match=True),
        gxe.ExpectTableRowCountToBeBetween(min_value=contract.min_rows),
    ]
    for column in contract.columns:
        name = column.name
        expectations.extend(column.definition.expectations(column))
        if not column.nullable:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=name))
        if column.unique:
            expectations.append(gxe.ExpectColumnValuesToBeUnique(column=name))
        if column.min is not None or column.max is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name, min_value=column.min, max_value=column.max
                )
            )
        if column.expected is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=column.expected.min,
                    max_value=column.expected.max,
                    mostly=1 - contract.tolerance,
                    meta={"notes": EXPECTED_NOTE},
                )
            )
        if column.values is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(column.values))
            )
    return expectations


def expectation_suite(contract: DataContract) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=suite_name(contract), expectations=build_expectations(contract))


def open_context(gx_dir: Path, data_docs_dir: Path) -> Any:
    """The project's file-backed GX context, with Data Docs written to `data_docs_dir`."""
    context = gx.get_context(mode="file", context_root_dir=str(gx_dir))
    context.variables.progress_bars = {"globally": False}
    context.variables.data_docs_sites = {
        DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    context.variables.save()
    return context


@dataclass(frozen=True)
class Evaluation:
    """A batch checked against the suite, not yet published: its report (without Data Docs)
    and GX's own result, which `publish` stores and renders."""

    report: ValidationReport
    result: Any  # great_expectations' ExpectationSuiteValidationResult


def validate_batch(
    frame: pd.DataFrame, contract: DataContract, gx_dir: Path, data_docs_dir: Path
) -> ValidationReport:
    """Run the contract's suite on `frame` and render Data Docs; never raises on bad data."""
    return publish(evaluate(frame, contract), contract, gx_dir, data_docs_dir)


def evaluate(frame: pd.DataFrame, contract: DataContract) -> Evaluation:
    """Run the contract's suite on `frame` in memory. It touches no file, so many batches can
    be evaluated at once, in other processes or on other machines (`data/folder.py`)."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batch_definition = (
        context.data_sources.add_pandas(DATASOURCE)
        .add_dataframe_asset(contract.name)
        .add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    )
    suite = context.suites.add(expectation_suite(contract))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_name(contract), data=batch_definition, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SHOWN_EXAMPLES},
    )
    report = ValidationReport(
        success=bool(result.success),
        rows=len(frame),
        evaluated=len(result.results),
        failures=tuple(_failures(result.results)),
        suite=suite_name(contract),
        warnings=tuple(_within_tolerance(result.results)),
    )
    return Evaluation(report=report, result=result)


def publish(
    evaluation: Evaluation, contract: DataContract, gx_dir: Path, data_docs_dir: Path
) -> ValidationReport:
    """Keep the suite and the result in the project's GX folder and render the result's Data
    Docs page; return the report with its address. The GX folder is shared state: one at a
    time."""
    with exclusive(gx_dir / ".lock"):
        context = open_context(gx_dir, data_docs_dir)
        context.suites.add_or_update(expectation_suite(contract))
        result = evaluation.result
        suite_id = ExpectationSuiteIdentifier(name=suite_name(contract))
        result_id = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id,
            run_id=result.meta["run_id"],
            batch_identifier=result.batch_id,
        )
        context.validation_results_store.store_validation_results(
            suite_validation_result=result,
            suite_validation_result_identifier=result_id,
            expectation_suite_identifier=suite_id,
        )
        started = time.time()
        context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[result_id, suite_id])
        make_offline(data_docs_dir, pages=_written_since(data_docs_dir, started))
        urls = context.get_docs_sites_urls(resource_identifier=result_id, site_names=[DOCS_SITE])
    return replace(evaluation.report, data_docs=urls[0]["site_url"] if urls else None)


def _written_since(site_dir: Path, started: float) -> list[Path]:
    # The pages this build wrote (index, suite, result); a margin for coarse file clocks. Older
    # pages were made offline when they were written.
    return [p for p in site_dir.rglob("*.html") if p.stat().st_mtime >= started - 2]


def _failures(results: Iterable[Any]) -> Iterable[ExpectationFailure]:
    for outcome in results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        yield ExpectationFailure(
            expectation=config.type,
            column=config.kwargs.get("column"),
            detail=_describe(config.type, config.kwargs, outcome.result or {}, outcome),
        )


def _within_tolerance(results: Iterable[Any]) -> Iterable[ExpectationFailure]:
    """Expectations that passed with values outside them: only a tolerance (`mostly`) can."""
    for outcome in results:
        result = outcome.result or {}
        if not outcome.success or not result.get("unexpected_count"):
            continue
        config = outcome.expectation_config
        yield ExpectationFailure(
            expectation=config.type,
            column=config.kwargs.get("column"),
            detail=_describe(config.type, config.kwargs, result, outcome),
        )


def _describe(kind: str, kwargs: Mapping[str, Any], result: Mapping[str, Any], outcome: Any) -> str:
    """One readable clause for a failed expectation."""
    if "unexpected_count" in result:
        examples = ", ".join(
            repr(v) for v in result.get("partial_unexpected_list", [])[:SHOWN_EXAMPLES]
        )
        percent = result.get("unexpected_percent") or 0.0
        rule = _rule(kind, kwargs)
        mostly = kwargs.get("mostly")
        allowed = f" (at most {1 - mostly:.0%} may be)" if mostly is not None else ""
        return (
            f"{result['unexpected_count']} values ({percent:.2f}%) {rule}{allowed}; e.g. {examples}"
        )
    if kind == "expect_table_columns_to_match_set":
        observed = set(result.get("observed_value") or [])
        expected = set(kwargs.get("column_set") or [])
        missing, extra = sorted(expected - observed), sorted(observed - expected)
        return (
            f"columns differ from the contract: missing {missing or 'none'}, "
            f"unexpected {extra or 'none'}"
        )
    if kind == "expect_column_values_to_be_in_type_list":
        return f"type {result.get('observed_value')} is not one of {kwargs.get('type_list')}"
    if "observed_value" in result:
        return f"observed {result['observed_value']!r}, expected {_rule(kind, kwargs)}"
    if outcome.exception_info:
        return f"could not be evaluated: {_exception_message(outcome.exception_info)}"
    return _rule(kind, kwargs)


def _rule(kind: str, kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    rules = {
        "expect_column_values_to_not_be_null": "are null",
        "expect_column_values_to_be_unique": "are duplicates",
        "expect_column_values_to_be_between": (
            f"outside the expected range {_interval(low, high)}"
            if kwargs.get("mostly") is not None
            else f"outside {_interval(low, high)}"
        ),
        "expect_column_values_to_be_in_set": f"not in {kwargs.get('value_set')}",
        "expect_column_values_to_be_in_type_list": f"not of type {kwargs.get('type_list')}",
        "expect_table_row_count_to_be_between": f"at least {kwargs.get('min_value')} rows",
        "expect_column_value_lengths_to_be_between": f"longer than {high} characters",
    }
    return rules.get(kind, kind.removeprefix("expect_").replace("_", " "))


def _interval(low: object, high: object) -> str:
    """[low, high], an open side written as an infinity."""
    return f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"


def _exception_message(info: Any) -> str:
    """The first exception message in GX's `exception_info` (flat, or keyed by metric)."""
    entries = (
        info.values() if isinstance(info, Mapping) and "exception_message" not in info else [info]
    )
    for entry in entries:
        message = entry.get("exception_message") if isinstance(entry, Mapping) else None
        if message:
            return str(message).splitlines()[0]
    return "the column's values do not fit the check (wrong type?)"
