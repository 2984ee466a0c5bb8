"""The test lanes: a test not marked `spark` that starts Spark fails, whether the JVM would
start in the test's process or in a child process (the refusal stops it before it starts)."""

pytest_plugins = ["pytester"]

PROBES = '''
import subprocess

import pytest


def test_session_in_this_process():
    from lake_assets.orchestration.spark import get_spark

    get_spark()


def test_session_refused_and_caught():
    from lake_assets.orchestration.spark import get_spark

    with pytest.raises(AssertionError):
        get_spark()


def test_spark_submit_in_a_child():
    import os

    subprocess.run([os.path.join(os.environ["SPARK_HOME"], "bin", "spark-submit"), "--version"])


def test_no_spark():
    pass
'''


def test_a_test_not_marked_spark_that_starts_spark_fails(pytester):
    pytester.makeconftest("from lake_assets_tests.conftest import *  # noqa: F403")
    pytester.makepyfile(test_probes=PROBES)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1, errors=3)
    result.stdout.fnmatch_lines(["*this test starts or uses a JVM: mark it spark*"])
