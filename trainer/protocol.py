"""The trainers' protocol with Relation Lens (shared by train_lora.py and train_encoder.py): one
JSON object per line on stdout ({"event": ...}), human-readable logs on stderr, an `error` event
and exit code 2 for bad input, and SIGINT/SIGTERM asking for a stop after the current step."""

from __future__ import annotations

import json
import os
import signal
import sys

stop_requested = False


def emit(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fail(message: str, code: int = 2) -> None:
    emit("error", message=message)
    sys.exit(code)


def on_signal(signum, _frame) -> None:
    global stop_requested
    if stop_requested:
        # second signal: stop at once
        os._exit(130)
    stop_requested = True
    log(f"signal {signum}: stopping after this step")


def stop_on_signals() -> None:
    """SIGINT and SIGTERM set `stop_requested` (read it as protocol.stop_requested); a second one exits."""
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def read_jsonl(path: str) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                fail(f"{path}:{i}: invalid JSON: {e}")
    return out
