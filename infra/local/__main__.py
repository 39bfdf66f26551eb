"""`python -m infra.local` (what `make run` calls): the whole platform on this machine."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from infra.local.platform import LocalPlatform


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("OMP_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "httpx", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    data_dir = os.environ.get("OMP_DATA_DIR")
    platform = LocalPlatform(
        token=os.environ.get("OMP_API_TOKEN") or None,
        host=os.environ.get("OMP_HOST", "127.0.0.1"),
        data_dir=Path(data_dir) if data_dir else None,
        schedules=os.environ.get("OMP_SCHEDULES", "on").lower() not in ("0", "off", "false", "no"),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    port = int(os.environ.get("OMP_PORT", "8000"))
    try:
        platform.start(port=port)
    except OSError as exc:
        platform.stop()
        if exc.errno == errno.EADDRINUSE:
            print(f"port {port} is in use: set OMP_PORT to another port", file=sys.stderr)
            return 2
        raise
    except BaseException:
        platform.stop()
        raise
    print(
        f"\nom-platform is running at {platform.base_url}  (Swagger UI: {platform.base_url}/docs)\n"
        f"API token: {platform.token}\n"
        f"  curl -H 'Authorization: Bearer {platform.token}' {platform.base_url}/v1/alarms\n"
        "Ctrl-C stops it. AWS state lives in memory and is lost on exit.\n",
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
