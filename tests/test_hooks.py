"""The hooks: bad answers stop generation before any file is written; answers cannot inject."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from .conftest import DEFAULT_PACKAGE, DEFAULT_SLUG, REPO, TEMPLATE_OPTIONS, bake


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PRE_GEN = load_hook("pre_gen_project")
POST_GEN = load_hook("post_gen_project")
CHOICES = PRE_GEN.choices_of(TEMPLATE_OPTIONS)
DEFAULT_ANSWERS: dict[str, Any] = {
    "project_name": "Ad Click Prediction",
    "project_slug": DEFAULT_SLUG,
    "package_name": DEFAULT_PACKAGE,
    "description": "A system.",
    "author_name": "A. Person",
    "author_email": "a@example.com",
    **{option: values[0] for option, values in CHOICES.items()},
}


def test_choices_are_read_from_cookiecutter_json() -> None:
    assert CHOICES["python_version"] == ["3.11", "3.12"]
    assert set(CHOICES) == {"problem_type", "python_version", "license", "feature_store", "ci"}


def test_default_answers_have_no_problem() -> None:
    assert PRE_GEN.find_problems(DEFAULT_ANSWERS, CHOICES) == []


# (answer overrides, the field the one-sentence error must name)
BAD_ANSWERS = {
    "empty_name": ({"project_name": "  "}, "project_name"),
    "multiline_name": ({"project_name": "Ad\nClick"}, "project_name"),
    "slug_uppercase": ({"project_slug": "Ad-Click"}, "project_slug"),
    "slug_space": ({"project_slug": "ad click"}, "project_slug"),
    "slug_double_hyphen": ({"project_slug": "ad--click"}, "project_slug"),
    "package_hyphen": ({"package_name": "ad-click"}, "package_name"),
    "package_digit_first": ({"package_name": "1click"}, "package_name"),
    "package_keyword": ({"package_name": "class"}, "package_name"),
    "package_mlflow": ({"package_name": "mlflow"}, "package_name"),
    "package_prefect": ({"package_name": "prefect"}, "package_name"),
    "package_bentoml": ({"package_name": "bentoml"}, "package_name"),
    "package_great_expectations": ({"package_name": "great_expectations"}, "package_name"),
    "package_evidently": ({"package_name": "evidently"}, "package_name"),
    "package_test": ({"package_name": "test"}, "package_name"),
    "package_stdlib": ({"package_name": "json"}, "package_name"),
    "bad_email": ({"author_email": "nobody"}, "author_email"),
    "multiline_description": ({"description": "one\ntwo"}, "description"),
    "python_3_10": ({"python_version": "3.10"}, "python_version"),
    "unknown_license": ({"license": "GPL"}, "license"),
    "unknown_problem_type": ({"problem_type": "clustering"}, "problem_type"),
    "feast_without_entities": (
        {"problem_type": "regression", "feature_store": "feast"},
        "feature_store",
    ),
    "unknown_feature_store": ({"feature_store": "redis"}, "feature_store"),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_each_rule_names_the_field(case: str) -> None:
    overrides, field = BAD_ANSWERS[case]
    problems = PRE_GEN.find_problems({**DEFAULT_ANSWERS, **overrides}, CHOICES)
    assert len(problems) == 1, problems
    assert problems[0].startswith(field)


# A real bake for each hook rule: generation stops and nothing is left on disk.
BAKE_FAILURES = {
    "slug": ({"project_slug": "Bad Slug!"}, "project_slug"),
    "package_reserved": ({"package_name": "mlflow"}, "package_name 'mlflow' is reserved"),
    "package_invalid": ({"package_name": "my-package"}, "package_name 'my-package'"),
    "empty_name": (
        {"project_name": "", "project_slug": "x", "package_name": "x_pkg"},
        "project_name is empty",
    ),
    "email": ({"author_email": "not-an-address"}, "author_email"),
}


@pytest.mark.parametrize("case", sorted(BAKE_FAILURES))
def test_bad_answer_stops_generation_before_any_file(
    case: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    answers, message = BAKE_FAILURES[case]
    with pytest.raises(FailedHookException):
        bake(tmp_path, **answers)
    assert list(tmp_path.iterdir()) == []
    assert message in capfd.readouterr().err


def test_unsupported_python_version_is_refused_without_output(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="python_version"):
        bake(tmp_path, python_version="3.10")
    assert list(tmp_path.iterdir()) == []


INJECTION = "Evil \"\"\"' ''' \\ \"); import os; os.system('touch PWNED') # \u00e9"


def test_quotes_and_code_in_answers_cannot_break_or_inject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = bake(
        tmp_path / "out",
        project_name=INJECTION,
        project_slug="evil-project",
        package_name="evil_project",
        description=INJECTION,
        author_name=INJECTION,
    )
    assert not list(tmp_path.rglob("PWNED"))
    assert INJECTION in (project / "README.md").read_text()
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert meta["description"] == INJECTION
    assert meta["authors"][0]["name"] == INJECTION
    cruft = json.loads((project / ".cruft.json").read_text())
    assert cruft["context"]["cookiecutter"]["project_name"] == INJECTION


def test_prune_table_and_cruft_record() -> None:
    with_store = {**DEFAULT_ANSWERS, "feature_store": "feast"}
    assert POST_GEN.paths_to_prune({**with_store, "ci": "none"}) == [".github"]
    assert POST_GEN.paths_to_prune(with_store) == []
    assert POST_GEN.paths_to_prune(DEFAULT_ANSWERS) == [
        "tests/e2e/test_feature_store.py",
        "bench/feature_store.py",
    ]
    record = POST_GEN.cruft_record(
        {**DEFAULT_ANSWERS, "_output_dir": "/tmp/x", "_template": "gh:o/r"}, "gh:o/r", "abc123"
    )
    context = record["context"]["cookiecutter"]
    assert record["template"] == "gh:o/r" and record["commit"] == "abc123"
    assert context["_template"] == "gh:o/r" and context["_commit"] == "abc123"
    assert "_output_dir" not in context
    assert context["package_name"] == DEFAULT_PACKAGE


def test_a_relative_template_path_is_recorded_absolute_with_its_commit(tmp_path: Path) -> None:
    # `cookiecutter ../cookiecutter-mlsd`: cruft later needs the absolute path and the commit.
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'r'}\ncookiecutters_dir: {tmp_path / 'c'}\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "mlsd").symlink_to(REPO)  # a path that means nothing from REPO
    relative = "templates/mlsd"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(config)]
    subprocess.run([*command, "-o", "out", relative], cwd=tmp_path, check=True)
    record = json.loads((tmp_path / "out" / DEFAULT_SLUG / ".cruft.json").read_text())
    assert record["template"] == str(REPO)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    assert record["commit"] == (head.stdout.strip() or None)
    assert POST_GEN.template_address("gh:org/repo", REPO) == "https://github.com/org/repo.git"
    assert POST_GEN.template_address("git@github.com:org/repo.git", REPO).startswith("git@")


def test_the_recorded_template_address_is_one_git_can_clone() -> None:
    assert POST_GEN.cloneable("gh:org/repo") == "https://github.com/org/repo.git"
    assert POST_GEN.cloneable("gl:org/repo") == "https://gitlab.com/org/repo.git"
    assert POST_GEN.cloneable("git+https://host/org/repo") == "https://host/org/repo"
    assert POST_GEN.cloneable("git+file:///srv/template") == "file:///srv/template"
    assert POST_GEN.cloneable("https://host/org/repo.git") == "https://host/org/repo.git"
    assert POST_GEN.cloneable("/srv/template") == "/srv/template"


def test_bake_leaves_no_rendered_hook_in_the_temp_dir(tmp_path: Path) -> None:
    temp_dir = Path(tempfile.gettempdir())
    before = set(temp_dir.glob("tmp*.py"))
    bake(tmp_path)
    assert set(temp_dir.glob("tmp*.py")) - before == set()


def test_hooks_never_delete_their_source_in_the_template() -> None:
    for hook in (PRE_GEN, POST_GEN):
        hook.remove_rendered_copy()
        assert Path(hook.__file__).is_file()


def test_the_chosen_tasks_variants_are_kept_under_their_plain_names(tmp_path: Path) -> None:
    choices = ["binary_classification", "regression"]
    for name in ("evaluation.binary_classification.py", "evaluation.regression.py", "flow.py"):
        (tmp_path / name).write_text(name)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "contract.regression.yaml").write_text("r")
    POST_GEN.keep_variants(tmp_path, "regression", choices)
    kept = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert kept == ["data/contract.yaml", "evaluation.py", "flow.py"]
    assert (tmp_path / "evaluation.py").read_text() == "evaluation.regression.py"


def test_the_tasks_are_known_by_their_contracts_not_by_a_list(tmp_path: Path) -> None:
    contracts = tmp_path / "src" / "package" / "contract"
    contracts.mkdir(parents=True)
    for name in ("contract.regression.yaml", "contract.multiclass.yaml", "spec.py"):
        (contracts / name).write_text(name)
    assert POST_GEN.variant_tasks(tmp_path) == ["multiclass", "regression"]
    template_tasks = POST_GEN.variant_tasks(REPO / "{{cookiecutter.project_slug}}")
    assert set(TEMPLATE_OPTIONS["problem_type"]) <= set(template_tasks)


def test_a_tasks_variant_replaces_the_shared_default_only_for_that_task(tmp_path: Path) -> None:
    choices = ["binary_classification", "ranking"]
    for task in choices:
        project = tmp_path / task
        project.mkdir()
        for name in ("endpoints.py", "endpoints.ranking.py", "test_rank.ranking.py"):
            (project / name).write_text(name)
        POST_GEN.keep_variants(project, task, choices)
        kept = sorted(path.name for path in project.iterdir())
        if task == "ranking":
            assert kept == ["endpoints.py", "test_rank.py"]
            assert (project / "endpoints.py").read_text() == "endpoints.ranking.py"
        else:
            assert kept == ["endpoints.py"]
            assert (project / "endpoints.py").read_text() == "endpoints.py"


def test_the_templates_own_ci_runs_the_fast_suite_per_python_and_the_full_one() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "template.yml").read_text())
    fast, full = workflow["jobs"]["fast"], workflow["jobs"]["full"]
    assert fast["strategy"]["matrix"]["python"] == TEMPLATE_OPTIONS["python_version"]
    assert "make test-fast" in [step.get("run") for step in fast["steps"]]
    assert full["strategy"]["matrix"]["python"] == TEMPLATE_OPTIONS["python_version"]
    assert "bash .ci/run" in [step.get("run") for step in full["steps"]]
    checkout = next(s for s in full["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # test_edited_project_update needs the history
