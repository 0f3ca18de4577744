"""`python -m labkit.faults.holder <scenario>`: hold a scenario's sessions until SIGTERM."""
import signal
import sys
import threading

from labkit.config import LabConfig
from labkit.faults import SCENARIOS, background


def main(argv):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    config = LabConfig.from_env()
    held = SCENARIOS[argv[0]].hold(config)
    print(f"{argv[0]}: holding {held.describe()}", flush=True)
    background.readyfile(config, argv[0]).write_text("ready\n")
    try:
        stop.wait()
    finally:
        held.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
