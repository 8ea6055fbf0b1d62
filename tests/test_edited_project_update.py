"""The update path: a project baked from an older template commit, then edited by its team, is
brought to the current template with `cruft update`; the team's edits survive, the template's
changes arrive, and the project still lints and passes its tests."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import DEFAULT_PACKAGE, REPO, bake, clean_env, run

# Runs while the other tasks' projects run in the background (conftest.TaskRun).
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("docker_run", "other_tasks")]

# The older template the project is baked from: the first commit whose hooks cruft can render
# (before it, every `cruft update` failed). Fixed, so the diff grows as the template moves on.
OLDER_COMMIT = "169a0552d019cc613d070515c477b103052926fb"
GOAL = "business_goal: Our own goal, kept through template updates."
OWN_MODULE = f"src/{DEFAULT_PACKAGE}/our_features.py"
OWN_TEST = "tests/code/test_our_features.py"
# What the team changes (a step-1 number and text are theirs to edit) and adds (own code and
# its test); `.cruft.json` is cruft's own record.
EDITED = {f"src/{DEFAULT_PACKAGE}/requirements/requirements.yaml", OWN_MODULE, OWN_TEST}


def git(*args: str, cwd: Path) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return run(command, cwd=cwd).stdout.strip()


def current_template(folder: Path) -> tuple[Path, str]:
    """A clone of this repository whose checked-out branch holds the working tree as it is now
    (uncommitted changes too) as its last commit; the clone and that commit."""
    clone = folder / "template"
    run(["git", "clone", "--quiet", str(REPO), str(clone)], cwd=folder)
    if subprocess.run(
        ["git", "cat-file", "-e", f"{OLDER_COMMIT}^{{commit}}"], cwd=clone
    ).returncode:
        pytest.fail(f"{OLDER_COMMIT} is not in this clone's history (a shallow clone?)")
    git("checkout", "--quiet", "-B", "under-test", cwd=clone)
    tracked = run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO).stdout.split("\n")
    for name in filter(None, tracked):
        source, target = REPO / name, clone / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "--allow-empty", "-m", "the template under test", cwd=clone)
    return clone, git("rev-parse", "HEAD", cwd=clone)


def test_cruft_update_keeps_the_teams_edits_and_brings_the_template(
    tmp_path: Path, uv: str
) -> None:
    template, current = current_template(tmp_path)
    git("checkout", "--quiet", OLDER_COMMIT, cwd=template)
    project = bake(tmp_path / "project", template)
    git("checkout", "--quiet", "under-test", cwd=template)
    assert json.loads((project / ".cruft.json").read_text())["commit"] == OLDER_COMMIT

    git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", "baked", cwd=project)
    requirements = project / f"src/{DEFAULT_PACKAGE}/requirements/requirements.yaml"
    lines = requirements.read_text().splitlines()
    lines = [GOAL if line.startswith("business_goal:") else line for line in lines]
    requirements.write_text("\n".join(lines) + "\n")
    (project / OWN_MODULE).write_text("def doubled(value: int) -> int:\n    return 2 * value\n")
    (project / OWN_TEST).write_text(
        f"from {DEFAULT_PACKAGE}.our_features import doubled\n\n\n"
        "def test_doubled() -> None:\n    assert doubled(2) == 4\n"
    )
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", "our edits", cwd=project)

    cruft = str(REPO / ".venv" / "bin" / "cruft")
    updated = run([cruft, "update", "--skip-apply-ask"], cwd=project, env=clean_env())
    assert "conflict" not in updated.stdout.lower(), updated.stdout
    assert git("diff", "--name-only", "--diff-filter=U", cwd=project) == ""
    assert not list(project.rglob("*.rej"))
    record = json.loads((project / ".cruft.json").read_text())
    assert (record["template"], record["commit"]) == (str(template), current)

    # The team's edits are there, and every other file is the current template's, exactly.
    assert GOAL in requirements.read_text().splitlines()
    fresh = bake(tmp_path / "fresh", template)
    fresh_files = {str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file()}
    project_files = {
        str(p.relative_to(project))
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(project).parts
    }
    assert project_files == fresh_files | {OWN_MODULE, OWN_TEST}
    differing = [
        name
        for name in sorted(fresh_files - EDITED - {".cruft.json"})
        if not filecmp.cmp(project / name, fresh / name, shallow=False)
    ]
    assert differing == []

    # It still installs, lints and passes its tests (the fast families and the team's own).
    run(["make", "setup", f"UV={uv}"], cwd=project)
    run(["make", "lint", f"UV={uv}"], cwd=project)
    tests = [uv, "run", "--locked", "pytest", "-q", "-p", "no:cacheprovider", "tests/code"]
    result = run([*tests, f"--basetemp={tmp_path / 'pytest-tmp'}"], cwd=project)
    collected = run([*tests, "--collect-only", f"--basetemp={tmp_path / 'collect'}"], cwd=project)
    assert "test_our_features.py" in collected.stdout
    assert " passed" in result.stdout and "failed" not in result.stdout
