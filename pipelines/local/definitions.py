"""The profile's definition for a local run, built once per change of what can change it.

Building imports the SageMaker SDK (about 5 s), which would otherwise dominate a cached
re-run; the built JSON is kept under <workdir>/definitions/, keyed on everything that can
change it.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any


def definition_cache_key(profile: str, settings_json: str = "") -> str:
    """Everything that can change a built definition: this package's source and profiles,
    the container code, the settings as loaded (a --config file's too), the role from the
    environment, and the SDK version."""
    from pipelines.code_assets import code_assets

    package = Path(__file__).resolve().parent.parent  # pipelines/
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    for asset in code_assets().all():
        digest.update(asset.digest.encode())
    digest.update(profile.encode())
    digest.update(settings_json.encode())
    digest.update(os.environ.get("SAGEMAKER_PIPELINE_ROLE_ARN", "").encode())
    digest.update(metadata.version("sagemaker").encode())
    return digest.hexdigest()[:32]


def cached_definition(
    profile: str, workdir: Path, config: Path | None = None
) -> tuple[dict[str, Any], str, str]:
    """The profile's definition (with a --config file over it), built once per change:
    building imports the SageMaker SDK (about 5 s), which would otherwise dominate a cached
    re-run."""
    from pipelines.files import write_atomically
    from pipelines.settings import load_settings

    settings = load_settings(profile, config=config)
    key = definition_cache_key(profile, settings.model_dump_json())
    path = workdir / "definitions" / f"{key}.json"
    try:
        document = json.loads(path.read_text()) if path.is_file() else None
    except ValueError:
        document = None  # torn or edited: build it again
    if document is None:
        from pipelines.pipeline import definition as build_definition

        text = build_definition(settings)
        write_atomically(path, text)
        document = json.loads(text)
    return document, settings.pipeline_name, settings.region
