"""Logging in the standard library's format, to MLUV_LOG_FILE."""
import logging
import sys

from . import settings

FORMAT = '%(asctime)s %(levelname)s [%(name)s] %(message)s'


def setup(name):
    handler = logging.FileHandler(settings.LOG_FILE) if settings.LOG_FILE else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # one line per request is too much for a load test; warnings and errors stay
    logging.getLogger('uvicorn.access').setLevel(logging.WARNING)
    return logging.getLogger(name)
