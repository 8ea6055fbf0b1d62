"""How well an inferred contract fits later batches of the same data, and how clearly it refuses
a column in other units: the figures behind the contract's `tolerance` (contract/README.md).

    python bench/contract_tolerance.py [--seeds 20]

On real tables scikit-learn ships (breast cancer: 569 rows, 30 numeric columns; diabetes: 442
rows, 10), each shuffled by a seed and split into three batches: every numeric column's bounds
are inferred from the first batch the way `contract infer` does (`numeric_bounds`), then the
two later batches are judged. Prints, per table, the largest and the 99th-percentile share of a
column's values outside its expected range, how many values broke a hard limit, and the
smallest share outside when the column is multiplied by 100 (other units).
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes

from {{ cookiecutter.package_name }}.contract.bounds import numeric_bounds
from {{ cookiecutter.package_name }}.contract.spec import DEFAULT_TOLERANCE
from {{ cookiecutter.package_name }}.contract.tolerance import outside

TABLES = {"breast cancer": load_breast_cancer, "diabetes": load_diabetes}


def measure(frame: pd.DataFrame, seeds: int) -> dict[str, float]:
    shares, in_other_units, hard_breaks = [], [], 0
    for seed in range(seeds):
        shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
        cuts = np.linspace(0, len(shuffled), 4).astype(int)
        first, *later = (shuffled.iloc[a:b] for a, b in itertools.pairwise(cuts))
        for column in frame.columns:
            kind = "int" if pd.api.types.is_integer_dtype(frame[column]) else "float"
            bounds = numeric_bounds(first[column], kind)
            low, high = bounds.expected.get("min"), bounds.expected.get("max")
            for batch in later:
                values = batch[column].astype(float)
                hard_low, hard_high = bounds.hard.get("min"), bounds.hard.get("max")
                shares.append(float(outside(values, low, high).mean()))
                hard_breaks += int(outside(values, hard_low, hard_high).sum())
                scaled = values * 100
                refused = outside(scaled, low, high) | outside(scaled, hard_low, hard_high)
                in_other_units.append(float(refused.mean()))
    return {
        "max share outside": max(shares),
        "p99 share outside": float(np.quantile(shares, 0.99)),
        "values breaking a hard limit": hard_breaks,
        "min share outside at x100": min(in_other_units),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    seeds = parser.parse_args().seeds
    print(f"tolerance {DEFAULT_TOLERANCE:.0%}; {seeds} seeds, three batches each")
    for name, loader in TABLES.items():
        features = loader(as_frame=True).frame.drop(columns="target")
        figures = measure(features, seeds)
        shown = ", ".join(
            f"{key} {value:.1%}" if isinstance(value, float) else f"{key} {value}"
            for key, value in figures.items()
        )
        print(f"{name} ({len(features)} rows, {features.shape[1]} columns): {shown}")


if __name__ == "__main__":
    main()
