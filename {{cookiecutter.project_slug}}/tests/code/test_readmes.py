"""The READMEs say only what is true of this project: every `make` target and command they name
exists, and the response fields they list are the ones the service's OpenAPI document holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from {{ cookiecutter.package_name }}.cli import COMMAND, app
from {{ cookiecutter.package_name }}.serving.endpoints import TASK_RESPONSES
from {{ cookiecutter.package_name }}.serving.schemas import Prediction

PROJECT = Path(__file__).resolve().parents[2]
READMES = sorted(
    path for path in PROJECT.rglob("README.md") if not {".venv", "build"} & set(path.parts)
)
# Words a step table puts where a command goes that are not the CLI's: what a person does.
NOT_COMMANDS = {"edit"}


def make_targets() -> set[str]:
    text = (PROJECT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.M))


def cli_commands() -> dict[str, set[str]]:
    """Each command, with its subcommands when it is a group (`contract infer`)."""
    group: Any = typer.main.get_command(app)
    return {name: set(getattr(command, "commands", {})) for name, command in group.commands.items()}


def test_there_are_readmes_to_check() -> None:
    assert len(READMES) >= 8


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(PROJECT)))
def test_every_make_target_a_readme_names_exists(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S))
    named = set(re.findall(r"`make ([a-z][a-z-]*)", text))
    named |= set(re.findall(r"^\s*make ([a-z][a-z-]*)", blocks, flags=re.M))
    assert named - make_targets() == set(), readme


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(PROJECT)))
def test_every_command_a_readme_names_exists(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    commands = cli_commands()
    # `<command> loop`, `uv run <command> contract infer`
    mentioned = rf"\b{re.escape(COMMAND)} ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?"
    for name, sub in re.findall(mentioned, text):
        assert name in commands, (readme, name)
        if commands[name] and sub:
            assert sub in commands[name], (readme, name, sub)
    # The first word of each command cell of a step table (`| # | step | command | ...`).
    for row in re.findall(r"^\| (?:\d+|all) \| (?:\d+|all) \| (.*?) \|", text, flags=re.M):
        for span in re.findall(r"`([^`]+)`", row):
            word = span.split()[0]
            if word.isupper() or word.endswith(".yaml"):  # `POST /predict`, a file
                continue
            assert word in commands or word in NOT_COMMANDS, (readme, span)


def fields_listed(readme: str, endpoint: str) -> set[str]:
    """The names in the `{...}` the endpoint table says an endpoint returns."""
    row = next(line for line in readme.splitlines() if line.startswith(f"| `POST {endpoint}`"))
    returned = row.split("returns", 1)[1]
    listed = re.search(r"`(\{.*?\})`", returned)
    assert listed, row
    return set(re.findall(r"[a-z_]+", listed.group(1)))


def fields_of(schema: dict[str, Any], document: dict[str, Any]) -> set[str]:
    """Property names of a JSON schema, nested ones (arrays of objects, refs) included."""
    names: set[str] = set()
    pending: list[Any] = [schema]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            pending.append(document["$defs"][str(node["$ref"]).rsplit("/", 1)[-1]])
            continue
        for name, inner in (node.get("properties") or {}).items():
            names.add(name)
            pending.append(inner)
        pending.extend(node.get("anyOf") or [])
        pending.append(node.get("items"))
    return names


def test_the_response_fields_the_serving_readme_lists_are_the_services() -> None:
    """Each endpoint's answer as the README lists it, against the JSON schema of its response
    model: what the service's OpenAPI document is generated from."""
    readme = PROJECT / "src" / "{{ cookiecutter.package_name }}" / "serving" / "README.md"
    text = readme.read_text(encoding="utf-8")
    for endpoint, model in ({"/predict": Prediction} | TASK_RESPONSES).items():
        document = model.model_json_schema()
        assert fields_listed(text, endpoint) == fields_of(document, document), endpoint
