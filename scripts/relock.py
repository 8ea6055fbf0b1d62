"""Re-resolve the generated project's dependencies and store the lock file in the template.

Bakes the default project into a temporary directory, runs `uv lock` there, and writes the
result to `{{cookiecutter.project_slug}}/uv.lock` with the project's own name turned back into
the slug variable, so every baked project gets a lock file that matches its pyproject.
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


def main() -> int:
    uv = os.environ.get("UV", "uv")
    with tempfile.TemporaryDirectory(prefix="mlsd-relock-") as out:
        TEMPLATE_LOCK.unlink(missing_ok=True)
        # cookiecutter keeps replay files in the home directory unless its config says otherwise.
        config = Path(out) / "cookiecutter.yaml"
        config.write_text(f"replay_dir: {out}/replay\ncookiecutters_dir: {out}/clones\n")
        project = Path(
            cookiecutter(str(REPO), no_input=True, output_dir=out, config_file=str(config))
        )
        subprocess.run([uv, "lock", "--directory", str(project)], check=True)
        lock = (project / "uv.lock").read_text(encoding="utf-8")
        slug = project.name
    if re.search(r"\{[{%#]", lock):
        sys.exit("the lock file contains Jinja syntax; it cannot be stored as a template")
    own_entry = f'[[package]]\nname = "{slug}"\n'
    if lock.count(own_entry) != 1:
        sys.exit(f"expected exactly one lock entry for {slug!r}")
    TEMPLATE_LOCK.write_text(
        lock.replace(own_entry, f'[[package]]\nname = "{SLUG_VARIABLE}"\n'), encoding="utf-8"
    )
    print(f"wrote {TEMPLATE_LOCK.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
