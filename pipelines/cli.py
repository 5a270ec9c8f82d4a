"""What every command-line tool here shares: exit codes, --profile, and turning an error into
one line on stderr and an exit code (in the shape of pypa/build's `main(argv)`).

    def main(argv=None) -> int:
        args = parse_args(argv)
        return cli.run("deploy", lambda: deploy(args), usage=(DeployUsage,), failed=(DeployError,))
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pipelines.settings import DEFAULT_PROFILE, PROFILES, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_profile_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help=f"settings profile: one of {', '.join(PROFILES)} (default: {DEFAULT_PROFILE})",
    )


def error(prog: str, message: str) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)


def run(
    prog: str,
    body: Callable[[], int],
    usage: tuple[type[BaseException], ...] = (),
    failed: tuple[type[BaseException], ...] = (),
    offline_hint: str = "",
) -> int:
    """`body()`'s exit code; an error becomes `<prog>: error: <message>` and EXIT_USAGE (bad
    settings or input: `usage`) or EXIT_FAILED (`failed`, a file that cannot be written, an
    AWS call that failed, explained by pipelines.aws.explain). Anything else is a bug: its
    traceback is shown."""
    from pipelines import aws

    bad_input: tuple[type[BaseException], ...] = (SettingsError, *usage)
    failures: tuple[type[BaseException], ...] = (*failed, OSError)
    try:
        return body()
    except bad_input as exc:
        error(prog, str(exc))
        return EXIT_USAGE
    except failures as exc:
        error(prog, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        error(prog, "interrupted")
        return 130
    except Exception as exc:
        message = aws.explain(exc, offline_hint=offline_hint)
        if message is None:
            raise
        error(prog, message)
        return EXIT_FAILED
