"""
What loadlens needs to know of a locustfile before it runs it: `python3 discover.py <file>`
prints one JSON object: Locust's version, the user classes (name, host, weight, fixed_count,
task names) and whether a load shape class is there; or {"error": ..., "detail": ...} with
exit code 1 when the file cannot be imported, the traceback's last frames in the detail.
"""
import importlib.util
import inspect
import json
import os
import sys
import traceback


def main():
    path = os.path.abspath(sys.argv[1])
    try:
        import locust
        from locust import User
        from locust import LoadTestShape
    except Exception as e:
        print(json.dumps({"error": f"Locust cannot be imported: {type(e).__name__}: {e}", "missing": True}))
        return 1
    from run_locust import locust_version

    sys.path.insert(0, os.path.dirname(path))
    try:
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except BaseException as e:  # a locustfile may even call sys.exit()
        tb = traceback.extract_tb(e.__traceback__)
        here = [f for f in tb if os.path.abspath(f.filename) == path]
        where = f"{path}:{here[-1].lineno}" if here else path
        if isinstance(e, SyntaxError) and e.lineno:
            where = f"{e.filename or path}:{e.lineno}"
        print(json.dumps({"error": f"{where}: {type(e).__name__}: {e}", "detail": "".join(traceback.format_exception(type(e), e, e.__traceback__)[-6:])}))
        return 1
    classes = []
    shape = False
    for name, value in vars(module).items():
        if not inspect.isclass(value):
            continue
        if issubclass(value, LoadTestShape) and value is not LoadTestShape and value.__module__ == module.__name__:
            shape = True
        if issubclass(value, User) and value is not User and not getattr(value, "abstract", False):
            tasks = []
            for t in getattr(value, "tasks", []) or []:
                tasks.append(getattr(t, "__name__", str(t)))
            classes.append({
                "name": name,
                "host": getattr(value, "host", None),
                "weight": getattr(value, "weight", 1),
                "fixed_count": getattr(value, "fixed_count", 0),
                "tasks": sorted(set(tasks)),
            })
    print(json.dumps({"version": locust_version(locust), "classes": classes, "shape": shape}))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
