from pathlib import Path

# the local runner's work directory: staged input, the embedded S3 and model registry, runs
DEFAULT_WORKDIR = Path(".forecast-local")
