"""One builder per pipeline step; `pipelines/pipeline.py` wires them together."""
