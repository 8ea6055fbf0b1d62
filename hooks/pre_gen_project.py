"""Check every answer before cookiecutter writes a file; exit non-zero, one sentence a problem.

Cookiecutter renders this file with Jinja. The answers arrive as one JSON document inside a raw
string (``tojson`` escapes quotes and angle brackets), never as Python source, so a project name
with quotes, backslashes or newlines cannot break or inject code into this hook.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SLUG_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE_PATTERN = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
EMAIL_PATTERN = re.compile(r"[^@\s\"'<>]+@[^@\s\"'<>]+\.[^@\s\"'<>]+")
# The tasks whose worked example has entity features for a feature store to hold.
FEATURE_STORE_TASKS = ("binary_classification",)

# Import names the generated project depends on or uses for its own layout: a package with one of
# these names would shadow the real module.
RESERVED_PACKAGE_NAMES = frozenset(
    {
        "bentoml",
        "evidently",
        "fastapi",
        "great_expectations",
        "mlflow",
        "numpy",
        "pandas",
        "prefect",
        "pyarrow",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "sklearn",
        "src",
        "test",  # the stdlib's own tests, missing from sys.stdlib_module_names
        "tests",
        "typer",
        "yaml",
    }
) | frozenset(sys.stdlib_module_names)


def choices_of(template_options: Mapping[str, Any]) -> dict[str, list[str]]:
    """The options offered as lists in cookiecutter.json: the one place a choice is declared.
    Keys starting with `_` are cookiecutter's settings (`_copy_without_render`), not questions."""
    return {
        key: value
        for key, value in template_options.items()
        if isinstance(value, list) and not key.startswith("_")
    }


def find_problems(answers: Mapping[str, Any], choices: Mapping[str, list[str]]) -> list[str]:
    """Return one readable sentence for each answer that cannot produce a working project."""
    problems: list[str] = []
    name = str(answers.get("project_name", ""))
    if not name.strip():
        problems.append("project_name is empty: give the project a human-readable name.")
    elif any(ch in name for ch in "\r\n\t"):
        problems.append("project_name has a line break or tab: use a single line of text.")

    slug = str(answers.get("project_slug", ""))
    if not SLUG_PATTERN.fullmatch(slug):
        problems.append(
            f"project_slug {slug!r} is not valid: use lowercase letters, digits and single "
            "hyphens, starting with a letter (e.g. 'ad-click-prediction')."
        )

    package = str(answers.get("package_name", ""))
    if not PACKAGE_PATTERN.fullmatch(package) or keyword.iskeyword(package):
        problems.append(
            f"package_name {package!r} is not a valid Python package name: use lowercase "
            "letters, digits and single underscores, starting with a letter "
            "(e.g. 'ad_click_prediction')."
        )
    elif package in RESERVED_PACKAGE_NAMES:
        problems.append(
            f"package_name {package!r} is reserved: it would shadow the standard library or a "
            "dependency of the project; pick a name of your own (e.g. 'ad_click_prediction')."
        )

    for field in ("description", "author_name"):
        if any(ch in str(answers.get(field, "")) for ch in "\r\n"):
            problems.append(f"{field} has a line break: use a single line of text.")

    email = str(answers.get("author_email", ""))
    if not EMAIL_PATTERN.fullmatch(email):
        problems.append(
            f"author_email {email!r} is not an e-mail address (e.g. 'you@example.com')."
        )

    task = answers.get("problem_type")
    if answers.get("feature_store") == "feast" and task not in FEATURE_STORE_TASKS:
        problems.append(
            f"feature_store 'feast' needs a worked example with entity features, and the "
            f"{task!r} one has none yet: choose feature_store 'none', or problem_type "
            f"{' or '.join(map(repr, FEATURE_STORE_TASKS))}."
        )

    for option, allowed in choices.items():
        value = answers.get(option)
        if value not in allowed:
            accepted = ", ".join(repr(item) for item in allowed)
            problems.append(f"{option} {value!r} is not supported: choose one of {accepted}.")
    return problems


def remove_rendered_copy() -> None:
    """Cookiecutter runs hooks from a temporary copy it never deletes; remove ours."""
    here = Path(__file__).resolve()
    if here.parent == Path(tempfile.gettempdir()).resolve() and here.name.startswith("tmp"):
        here.unlink(missing_ok=True)


def main(answers_json: str, template_options_json: str) -> int:
    answers = json.loads(answers_json)
    problems = find_problems(answers, choices_of(json.loads(template_options_json)))
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    remove_rendered_copy()
    return 1 if problems else 0


if __name__ == "__main__":
    # `_cookiecutter` is cookiecutter.json as written, with the full lists of choices. `cruft
    # update` renders the template without it (replaying answers checked when the project was
    # made): the choices are then not checked again.
    sys.exit(
        main(r"""{{ cookiecutter | tojson }}""", r"""{{ _cookiecutter | default({}) | tojson }}""")
    )
