"""`zhipu-connector emulator` (and `python -m zhipu_connector.emulator`): serve on loopback.

The command line's contract: `emulator_arguments(parser)` declares the options,
`emulator_command(args)` runs the server until interrupted.
"""

from __future__ import annotations

import argparse
import sys

from .config import EmulatorConfigError
from .faults import FAULTS
from .server import DEFAULT_HOST, DEFAULT_PORT, serve


def emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface (default: loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach; anyone who reaches it can use the emulator",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        dest="api_keys",
        metavar="ID.SECRET",
        help="an accepted key (repeatable); default: ZHIPUAI_API_KEY, else any key",
    )
    parser.add_argument(
        "--fault",
        metavar="SPEC",
        help="fault for every request, <fault>[;times=N][;seconds=S]; faults: " + ", ".join(sorted(FAULTS)),
    )
    parser.add_argument(
        "--fault-first-requests",
        type=int,
        metavar="N",
        help="apply --fault to the first N requests only",
    )
    parser.add_argument(
        "--retry-after",
        type=float,
        dest="retry_after_seconds",
        metavar="SECONDS",
        help="send Retry-After on every 429",
    )
    parser.add_argument(
        "--max-concurrent-requests",
        type=int,
        metavar="N",
        help="answer 429/1302 beyond this many requests in flight",
    )
    parser.add_argument(
        "--allow-null",
        action="append",
        default=[],
        dest="allow_null_fields",
        metavar="FIELD",
        help="accept null for this top-level field from any client (repeatable)",
    )
    parser.add_argument(
        "--platform",
        choices=("mainland", "international"),
        help="the platform to emulate (default: mainland); the international one lacks embeddings, batches, ...",
    )
    parser.add_argument(
        "--task-seconds",
        type=float,
        dest="task_seconds",
        metavar="SECONDS",
        help="how long video / async image / async chat tasks stay PROCESSING (default: 3)",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        dest="batch_seconds",
        metavar="SECONDS",
        help="how long a batch takes from creation to completed (default: 6)",
    )


def emulator_command(args: argparse.Namespace) -> int:
    names = (
        "host", "port", "api_keys", "fault", "fault_first_requests", "retry_after_seconds",
        "max_concurrent_requests", "platform", "task_seconds", "batch_seconds",
    )  # fmt: skip
    settings = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    serve(
        **settings,
        allow_remote=getattr(args, "allow_remote", False),
        allow_null_fields=frozenset(args.allow_null_fields),
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zhipu_connector.emulator",
        description="Serve a Zhipu-compatible HTTP API for tests, demos and offline work.",
    )
    emulator_arguments(parser)
    try:
        return emulator_command(parser.parse_args())
    except EmulatorConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
