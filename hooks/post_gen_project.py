"""Prune the parts the answers turned off, then record the answers for `cruft update`.

Optional parts are whole files or folders; which answer removes which path is the table below,
so adding an optional part is one line here and one expected-tree case in the tests.

Parts that differ by ML task (`problem_type`) are whole files too, named
`name.<problem_type>.ext` in the template: the project keeps its own task's as `name.ext` and
none of the others'. Where a plain `name.ext` sits beside them, it is what the tasks without a
variant of their own keep (a ranking's `endpoints.py` replaces the one every other task has).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# {option: {value: [paths removed from the generated project when option == value]}}
PRUNE: dict[str, dict[str, list[str]]] = {
    "ci": {"none": [".github"]},
    "feature_store": {"none": ["tests/e2e/test_feature_store.py", "bench/feature_store.py"]},
}

# The option whose value names a file variant, e.g. `synthetic.regression.py`. The template knows
# a task by its data contract, which every task has (`contract/contract.<task>.yaml`): the tasks
# whose variants it holds are read from those files, so no list of them is kept here, and
# cookiecutter.json offers those whose project is complete.
VARIANT_OPTION = "problem_type"
TASK_CONTRACTS = "src/*/contract/contract.*.yaml"

CRUFT_FILE = ".cruft.json"


def paths_to_prune(answers: Mapping[str, Any]) -> list[str]:
    return [
        path
        for option, by_value in PRUNE.items()
        for path in by_value.get(str(answers.get(option)), [])
    ]


def prune(project_dir: Path, answers: Mapping[str, Any]) -> None:
    for relative in paths_to_prune(answers):
        target = project_dir / relative
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def variant_of(path: Path, choices: list[str]) -> str | None:
    """The task a file is a variant for (`name.<task>.ext`), or None for a shared file."""
    parts = path.name.split(".")
    return parts[-2] if len(parts) >= 3 and parts[-2] in choices else None


def variant_tasks(project_dir: Path) -> list[str]:
    """Every task the files under `project_dir` hold variants for, by their contracts."""
    return sorted(path.name.split(".")[1] for path in project_dir.glob(TASK_CONTRACTS))


def keep_variants(project_dir: Path, chosen: str, choices: list[str]) -> None:
    """Each `name.<chosen>.ext` becomes `name.ext` (replacing a shared default of that name);
    every other task's variant is removed."""
    for path in sorted(project_dir.rglob("*")):
        task = variant_of(path, choices) if path.is_file() else None
        if task is None:
            continue
        if task == chosen:
            parts = path.name.split(".")
            path.rename(path.with_name(".".join(parts[:-2] + parts[-1:])))
        else:
            path.unlink()


def template_dir(repo_dir: str) -> Path | None:
    """The template's directory, absolute. cookiecutter runs the hooks from inside it (its own
    working directory, which Linux shows in /proc); elsewhere a relative `repo_dir` is taken
    from the shell's working directory."""
    try:
        return Path(f"/proc/{os.getppid()}/cwd").resolve(strict=True)
    except OSError:
        candidate = Path(repo_dir).expanduser()
        if not candidate.is_absolute():
            candidate = Path(os.environ.get("PWD", ".")) / candidate
        return candidate.resolve() if candidate.is_dir() else None


# A template given as an address rather than a folder: URL, cookiecutter abbreviation, scp-like.
REMOTE = re.compile(r"^(?:[a-z]+\+)?[a-z]+://|^(?:gh|gl|bb):|^[\w.-]+@[\w.-]+:")


def template_address(template: str, local_dir: Path | None) -> str:
    """Where cruft finds the template again: an address as git clones it, or a local template
    as the absolute path of its git checkout (a relative path means nothing later)."""
    if REMOTE.match(template) or local_dir is None:
        return cloneable(template)
    return git_rev_parse(local_dir, "--show-toplevel") or str(local_dir)


# cookiecutter's own abbreviations; cruft clones the recorded address with plain git.
ABBREVIATIONS = {
    "gh": "https://github.com/{}.git",
    "gl": "https://gitlab.com/{}.git",
    "bb": "https://bitbucket.org/{}",
}


def cloneable(template: str) -> str:
    """The template's address as git clones it (what `cruft update` does): cookiecutter's
    `git+` prefix dropped and its abbreviations (gh:org/repo) expanded."""
    template = template.removeprefix("git+")
    prefix, _, rest = template.partition(":")
    if prefix in ABBREVIATIONS and rest and not rest.startswith("//"):
        return ABBREVIATIONS[prefix].format(rest)
    return template


def git_rev_parse(directory: Path, argument: str) -> str | None:
    """`git rev-parse <argument>` in `directory`; None outside a git checkout or without git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", argument],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


def template_commit(template_dir: Path) -> str | None:
    """The template's git commit, so cruft can later diff against a newer template."""
    return git_rev_parse(template_dir, "HEAD")


def cruft_record(answers: Mapping[str, Any], template: str, commit: str | None) -> dict[str, Any]:
    """The `.cruft.json` document: the answers plus where the template came from."""
    context = {key: value for key, value in answers.items() if not key.startswith("_")}
    context.update({"_template": template, "_commit": commit})
    return {
        "template": template,
        "commit": commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": None,
        "skip": [],
    }


def remove_rendered_copy() -> None:
    """Cookiecutter runs hooks from a temporary copy it never deletes; remove ours."""
    here = Path(__file__).resolve()
    if here.parent == Path(tempfile.gettempdir()).resolve() and here.name.startswith("tmp"):
        here.unlink(missing_ok=True)


def main(answers_json: str) -> int:
    answers = json.loads(answers_json)
    project_dir = Path.cwd()
    prune(project_dir, answers)
    keep_variants(project_dir, str(answers.get(VARIANT_OPTION)), variant_tasks(project_dir))
    if "_repo_dir" in answers:
        local_dir = template_dir(str(answers["_repo_dir"]))
        template = template_address(str(answers.get("_template", "")), local_dir)
        commit = template_commit(local_dir) if local_dir else None
    else:
        # Rendered by `cruft update`, which gives no `_repo_dir`, renders the older and the newer
        # template, applies their difference and then writes .cruft.json itself. Record only what
        # both renders know, as older hooks did, so this file never differs between them.
        template, commit = cloneable(str(answers.get("_template", ""))), None
    record = cruft_record(answers, template, commit)
    (project_dir / CRUFT_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    remove_rendered_copy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(r"""{{ cookiecutter | tojson }}"""))
