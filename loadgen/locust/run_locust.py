"""
loadlens's runner for an unmodified locustfile: `python3 run_locust.py <locust arguments>`.

It installs a listener on Locust's `request` and `user_error` events, then runs Locust's own
main() with the arguments given. Every request reaches loadlens with Locust's own timing (the
response_time Locust measured, in ms), its name, type, response length, status and the
exception's text, stamped with the wall-clock time it completed, over one TCP connection to
127.0.0.1 (LOADLENS_LOCUST_ADDR, "host:port"). Lines, tab-separated:

    H <version>                                     once, first
    S <t>                                           the test started (test_start)
    R <t> <ms> <length> <status> <type> <name> [<error as JSON>]
    E <t> <user class> <task> <exception as JSON>   an exception in a user's task
    T <t> <users>                                   a tick, every 100 ms: nothing earlier is still to come
    Q <t> <exit code>                               Locust is about to exit

The loopback rail: unless LOADLENS_LOCUST_ALLOW_REMOTE=1, a request (or a redirect) to a host
that is not loopback fails before anything is sent, in HttpUser (requests) and FastHttpUser
(geventhttpclient). When loadlens's connection is lost, Locust is asked to stop.
"""
import ipaddress
import json
import os
import sys
import time
import traceback
from urllib.parse import urlsplit

TICK_S = 0.1


def clean(text):
    return str(text).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def allowed_host(host, extra):
    """Loopback by address, `localhost` by name (never a name resolved through DNS), or listed."""
    if not host:
        return True
    h = host.strip("[]").lower()
    if h in extra or h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


class Blocked(OSError):
    """A request the rail did not send: an OSError, which both of Locust's clients count as a failed request"""


def install_rail(extra):
    def check(url):
        host = urlsplit(url).hostname
        if not allowed_host(host, extra):
            raise Blocked(f"loadlens: not sent: {host} is not loopback (give loadlens --allow-remote to allow it)")

    try:
        import requests.adapters

        send = requests.adapters.HTTPAdapter.send

        def guarded_send(self, request, *args, **kwargs):
            try:
                check(request.url)
            except Blocked as e:
                raise requests.exceptions.ConnectionError(str(e), request=request)
            return send(self, request, *args, **kwargs)

        requests.adapters.HTTPAdapter.send = guarded_send
    except ImportError:
        pass
    # FastHttpUser: geventhttpclient's UserAgent, and Locust's subclass of it, open each hop
    # (redirects included) through _urlopen
    classes = []
    try:
        import geventhttpclient.useragent as ua

        classes.append(ua.UserAgent)
    except ImportError:
        pass
    try:
        from locust.contrib.fasthttp import LocustUserAgent

        classes.append(LocustUserAgent)
    except ImportError:
        pass
    for cls in classes:
        own = cls.__dict__.get("_urlopen")
        if own is None:
            continue

        def guarded_urlopen(self, request, _own=own):
            check(str(request.url_split))
            return _own(self, request)

        cls._urlopen = guarded_urlopen


def locust_version(locust):
    v = getattr(locust, "__version__", "")
    if not v:
        try:
            from importlib.metadata import version

            v = version("locust")
        except Exception:
            v = ""
    # Debian's python3-locust carries no version of its own ("" and 0.0.0)
    return v if v and v != "0.0.0" else "unknown"


def write_final_csv(env):
    """
    Locust writes its --csv files every few seconds while it runs and not again at the end, so
    its _stats.csv can miss the last seconds: have it write them once more, now that every user
    has stopped (LOADLENS_LOCUST_CSV is the --csv prefix loadlens gave it)
    """
    prefix = os.environ.get("LOADLENS_LOCUST_CSV")
    if not prefix or env is None:
        return
    try:
        import csv
        from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

        writer = StatsCSV(env, PERCENTILES_TO_REPORT)
        for suffix, write in (("_stats.csv", writer.requests_csv), ("_failures.csv", writer.failures_csv), ("_exceptions.csv", writer.exceptions_csv)):
            with open(prefix + suffix, "w", newline="") as f:
                write(csv.writer(f))
    except Exception as e:  # an older or newer Locust: its own files stay as it wrote them
        sys.stderr.write(f"loadlens: Locust's CSV files were not written again at the end: {type(e).__name__}: {e}\n")


def main():
    addr = os.environ.get("LOADLENS_LOCUST_ADDR")
    if not addr:
        sys.stderr.write("run_locust.py: LOADLENS_LOCUST_ADDR is not set (loadlens starts this script)\n")
        return 2
    host, port = addr.rsplit(":", 1)

    import locust  # gevent's monkey patching happens here, before any socket is made
    import gevent
    from gevent import socket
    from locust import events

    if os.environ.get("LOADLENS_LOCUST_ALLOW_REMOTE") != "1":
        extra = set(h.lower() for h in os.environ.get("LOADLENS_LOCUST_ALLOWED_HOSTS", "").split(",") if h)
        install_rail(extra)

    sock = socket.create_connection((host, int(port)))
    state = {"env": None, "lost": False}
    buf = []

    def flush(final_lines=()):
        if state["lost"]:
            return
        env = state["env"]
        users = env.runner.user_count if env is not None and env.runner is not None else 0
        lines = buf[:]
        del buf[:]
        lines.extend(final_lines)
        lines.append(f"T\t{time.time():.6f}\t{users}\n")
        try:
            sock.sendall("".join(lines).encode("utf-8", "replace"))
        except OSError:
            # loadlens is gone: stop the load, nobody measures it any more
            state["lost"] = True
            if env is not None and env.runner is not None:
                gevent.spawn(env.runner.quit)

    def ticker():
        while not state["lost"]:
            gevent.sleep(TICK_S)
            flush()

    @events.init.add_listener
    def on_init(environment, **_kw):
        state["env"] = environment

    @events.test_start.add_listener
    def on_test_start(**_kw):
        buf.append(f"S\t{time.time():.6f}\n")

    @events.request.add_listener
    def on_request(request_type, name, response_time, response_length, response=None, context=None, exception=None, **_kw):
        t = time.time()
        status = getattr(response, "status_code", None)
        line = f"R\t{t:.6f}\t{float(response_time or 0):.3f}\t{int(response_length or 0)}\t{status if status is not None else ''}\t{clean(request_type)}\t{clean(name)}"
        if exception is not None:
            line += "\t" + json.dumps(f"{type(exception).__name__}: {exception}")
        buf.append(line + "\n")

    @events.user_error.add_listener
    def on_user_error(user_instance, exception, tb, **_kw):
        # tasks written on the User run inside Locust's DefaultTaskSet: name the User's class
        # then, a TaskSet's own class otherwise
        cls = type(user_instance)
        if cls.__name__ == "DefaultTaskSet" and getattr(user_instance, "user", None) is not None:
            cls = type(user_instance.user)
        # the task: the innermost frame outside Locust's own code that is a method of that class
        task = ""
        for frame in traceback.extract_tb(tb):
            if hasattr(cls, frame.name) and not frame.name.startswith("_") and f"{os.sep}locust{os.sep}" not in frame.filename:
                task = frame.name
        buf.append(f"E\t{time.time():.6f}\t{clean(cls.__name__)}\t{clean(task)}\t{json.dumps(f'{type(exception).__name__}: {exception}')}\n")

    @events.quit.add_listener
    def on_quit(exit_code, **_kw):
        write_final_csv(state["env"])
        flush([f"Q\t{time.time():.6f}\t{exit_code}\n"])

    sock.sendall(f"H\t{locust_version(locust)}\n".encode())
    gevent.spawn(ticker)

    from locust.main import main as locust_main

    sys.argv = ["locust"] + sys.argv[1:]
    return locust_main()


if __name__ == "__main__":
    sys.exit(main())
