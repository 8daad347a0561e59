"""One log file for the API processes and one for the worker, Python's usual format."""
import logging
import sys

from . import settings


def configure(name):
    handler = logging.FileHandler(settings.LOG_FILE) if settings.LOG_FILE else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('[%(asctime)s] %(levelname)s %(process)d %(name)s: %(message)s'))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger('uvicorn.access').setLevel(logging.WARNING)
    return logging.getLogger(name)


def orphan_guard(parent_pid):
    """Exit when the launcher is gone (a daemon thread polling its pid)."""
    import os
    import signal
    import threading
    import time
    if not parent_pid:
        return

    def watch():
        while True:
            time.sleep(1)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            except PermissionError:
                pass
    threading.Thread(target=watch, daemon=True, name='orphan-guard').start()
