"""Candidate comparison: the primary metric (step 1) on the holdout for every model in `MODELS`
at several data sizes, next to the ceiling set by the generator's own expected target. The table
in modeling/README.md comes from this script.

    python bench/candidates.py                  # 50k and 400k rows
    python bench/candidates.py --rows 100000    # chosen sizes only
    python bench/candidates.py --set model__class_weight=balanced   # a parameter changed
"""

from __future__ import annotations

import argparse
import ast
import time
from typing import Any

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data.synthetic import expected_target, generate_batch
from {{ cookiecutter.package_name }}.modeling import MODELS, fit_model, predict_scores
from {{ cookiecutter.package_name }}.requirements import load_requirements
from {{ cookiecutter.package_name }}.settings import get_settings
from {{ cookiecutter.package_name }}.training.dataset import split_by_time
from {{ cookiecutter.package_name }}.training.evaluation import holdout_metrics

DEFAULT_SIZES = (50_000, 400_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="a pipeline parameter for every candidate (a Python literal, else text)",
    )
    args = parser.parse_args()
    params = dict(parameter(item) for item in args.set)

    settings = get_settings()
    contract = load_contract(settings.contract_file)
    offline = load_requirements(settings.requirements_file).offline_metrics
    names = sorted(MODELS)
    print(f"{offline.primary} on the holdout (fit seconds){f' with {params}' if params else ''}")
    print(f"{'rows':>10} {'ceiling':>8} " + " ".join(f"{name:>22}" for name in names))
    for rows in args.rows:
        frame = generate_batch(rows=rows, seed=1)
        split = split_by_time(frame, contract, settings.holdout_fraction, settings.seed)
        labels = split.holdout_labels
        best = expected_target(split.holdout)
        ceiling = holdout_metrics(labels, best, offline, split.holdout_groups)[offline.primary]
        cells = []
        for name in names:
            started = time.perf_counter()
            model = fit_model(name, split.train, contract, settings.seed, params)
            scores = predict_scores(model, split.holdout, contract)
            value = holdout_metrics(labels, scores, offline, split.holdout_groups)[offline.primary]
            cells.append(f"{value:.3f} ({time.perf_counter() - started:.1f} s)")
        print(f"{rows:>10,} {ceiling:>8.3f} " + " ".join(f"{cell:>22}" for cell in cells))


def parameter(item: str) -> tuple[str, Any]:
    name, _, text = item.partition("=")
    try:
        return name, ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return name, text


if __name__ == "__main__":
    main()
