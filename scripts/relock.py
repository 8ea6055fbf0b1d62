"""Re-resolve the generated project's dependencies and store the lock file in the template.

Bakes the default project into a temporary directory, runs `uv lock` there (starting from the
stored lock, so only what the pyproject changed moves), and writes the
result to `{{cookiecutter.project_slug}}/uv.lock` with the project's own name turned back into
the slug variable, so every baked project gets a lock file that matches its pyproject. Every
dependency group is locked whatever the answers; which groups install by default is the one line
that follows an answer (the feature store's group), written back as the pyproject's Jinja.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_LOCK = REPO / "{{cookiecutter.project_slug}}" / "uv.lock"
SLUG_VARIABLE = "{{ cookiecutter.project_slug }}"
DEFAULT_GROUPS = 'default-groups = ["dev", "pipeline", "stack"]\n'
DEFAULT_GROUPS_TEMPLATE = (
    'default-groups = ["dev", {% if cookiecutter.feature_store == "feast" %}"feature-store", '
    '{% endif %}"pipeline", "stack"]\n'
)


def main() -> int:
    uv = os.environ.get("UV", "uv")
    with tempfile.TemporaryDirectory(prefix="mlsd-relock-") as out:
        # The baked project starts from the stored lock: `uv lock` changes only what the
        # pyproject now asks for (`uv lock --upgrade` there would move everything).
        # cookiecutter keeps replay files in the home directory unless its config says otherwise.
        config = Path(out) / "cookiecutter.yaml"
        config.write_text(f"replay_dir: {out}/replay\ncookiecutters_dir: {out}/clones\n")
        project = Path(
            cookiecutter(str(REPO), no_input=True, output_dir=out, config_file=str(config))
        )
        # Arguments are uv's: `--upgrade-package prefect` moves that package (and only it).
        subprocess.run([uv, "lock", "--directory", str(project), *sys.argv[1:]], check=True)
        lock = (project / "uv.lock").read_text(encoding="utf-8")
        slug = project.name
    if re.search(r"\{[{%#]", lock):
        sys.exit("the lock file contains Jinja syntax; it cannot be stored as a template")
    own_entry = f'[[package]]\nname = "{slug}"\n'
    if lock.count(own_entry) != 1:
        sys.exit(f"expected exactly one lock entry for {slug!r}")
    if lock.count(DEFAULT_GROUPS) != 1:
        sys.exit(f"expected exactly one line {DEFAULT_GROUPS.strip()!r} in the lock file")
    lock = lock.replace(own_entry, f'[[package]]\nname = "{SLUG_VARIABLE}"\n')
    TEMPLATE_LOCK.write_text(lock.replace(DEFAULT_GROUPS, DEFAULT_GROUPS_TEMPLATE), "utf-8")
    print(f"wrote {TEMPLATE_LOCK.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
