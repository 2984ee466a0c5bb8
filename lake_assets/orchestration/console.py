"""A compact console logger for runs: one line per message a person wants to read."""

import logging
import re
import sys
import time

from dagster import Field, logger


def user_error_message(error) -> str:
    """The message of the user's exception inside a Dagster step failure, without its class."""
    while error.cause is not None:  # the user's exception, not Dagster's wrapper
        error = error.cause
    return re.sub(r"^[\w.]*" + error.cls_name + ": ", "", error.message.strip())


class _CompactHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or "run"
        if event is None:  # the asset's own messages name their table
            text = meta.get("orig_message", record.getMessage())
        elif event.event_type_value == "STEP_FAILURE":
            text = f"{step} FAILED: " + user_error_message(event.step_failure_data.error).splitlines()[0]
        else:
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        print(f"  {stamp} {text}", file=sys.stderr, flush=True)


@logger(Field({"log_level": Field(str, is_required=False, default_value="INFO")}),
        description="One line per asset message and per failed step, without stack traces.")
def compact_console_logger(init_context) -> logging.Logger:
    log = logging.Logger("lake_assets", level=init_context.logger_config["log_level"])
    log.addHandler(_CompactHandler())
    return log
