"""Stops the process when its parent (the demo launcher) is gone."""
import os
import signal
import threading
import time


def stop_with_parent(parent_pid):
    if not parent_pid:
        return

    def loop():
        while True:
            time.sleep(1)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            except PermissionError:
                pass

    threading.Thread(target=loop, name='parent-watch', daemon=True).start()
