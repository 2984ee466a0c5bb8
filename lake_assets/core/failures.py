"""What an Iceberg or Spark failure means, told by its Java class (or Spark's error class), never
by its message text: a commit another run changed first, a commit the catalog did not confirm,
a table that exists. No Dagster here."""

from __future__ import annotations

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException

ICEBERG = "org.apache.iceberg.exceptions."


class PublishConflict(Exception):
    """Another run committed the same table or month first: this run published nothing of it."""


class CommitRetryable(Exception):
    """The catalog did not take a commit after Iceberg's own retries, or cannot say whether it
    did (CommitFailedException, CommitStateUnknownException): the build can run again as it is."""


def java_classes(exc: Py4JJavaError) -> list[str]:
    """The Java exception's class and its causes' classes."""
    names, java = [], exc.java_exception
    while java is not None and len(names) < 10:
        names.append(java.getClass().getName())
        java = java.getCause()
    return names


def classified(exc: Py4JJavaError, where: str) -> Exception:
    """An Iceberg commit failure by its Java class: a validation failure is a conflict with
    another commit, a failed or unknown commit is retryable; anything else is raised as it is."""
    names = java_classes(exc)
    if any(n.startswith(ICEBERG + "Commit") for n in names):  # CommitFailed-, CommitStateUnknownException
        return CommitRetryable(f"{where}: the catalog did not confirm the commit ({names[0].rsplit('.', 1)[-1]}): "
                               "run the build again")
    if ICEBERG + "ValidationException" in names or ICEBERG + "CherrypickAncestorCommitException" in names:
        return PublishConflict(f"{where}: another commit changed it first")
    return exc


def already_exists(exc: AnalysisException | Py4JJavaError) -> bool:
    """Whether a create failed on a table that exists: Spark's TableAlreadyExistsException, or Iceberg's."""
    if isinstance(exc, AnalysisException):
        return exc.getErrorClass() == "TABLE_OR_VIEW_ALREADY_EXISTS"
    return ICEBERG + "AlreadyExistsException" in java_classes(exc)
