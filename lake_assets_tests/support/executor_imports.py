"""A spark-submit application: where the executors' Python imports each module named on the
command line from. Prints one `EXECUTOR {json}` line per task: the interpreter, its working
directory and, per module, its file (or the ImportError)."""

import json
import sys

from pyspark.sql import SparkSession


def imports(modules: list[str]) -> dict:
    import importlib
    import os
    import sys

    found = {}
    for name in modules:
        try:
            found[name] = importlib.import_module(name).__file__
        except ImportError as exc:
            found[name] = f"ImportError: {exc}"
    return {"python": sys.executable, "cwd": os.getcwd(), "modules": found}


if __name__ == "__main__":
    modules = sys.argv[1:]
    spark = SparkSession.builder.appName("executor imports").getOrCreate()
    for found in spark.sparkContext.parallelize(range(2), 2).map(lambda _: imports(modules)).collect():
        print("EXECUTOR " + json.dumps(found), flush=True)
    spark.stop()
