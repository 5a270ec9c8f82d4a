"""python -m benchmarks [NAME ...] [--quick]: run the benchmarks, one JSON line each.

--quick runs tiny sizes with no targets (what CI runs so the benchmarks cannot rot).
The exit status is non-zero only when a benchmark could not run, not when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback

NAMES = (
    "train_vs_legacy",
    "transform_throughput",
    "local_e2e",
    "local_cached",
    "local_scale",
    "local_scale_100x",
    "dry_run",
)
# run only when named: they need an optional extra (benchmarks/autogluon_vs.py: [autogluon])
OPTIONAL = ("autogluon_vs",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        choices=[[], *NAMES, *OPTIONAL],
        metavar="NAME",
        help=f"benchmarks to run (default all): {', '.join(NAMES)}; optional, run only "
        f"when named: {', '.join(OPTIONAL)}",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no targets")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.names or NAMES:
        try:
            importlib.import_module(f"benchmarks.{name}").run(args.quick)
        except Exception as exc:  # report and go on with the next benchmark
            failed += 1
            traceback.print_exc(file=sys.stderr)
            print(json.dumps({"benchmark": name, "error": str(exc)[-500:]}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
