"""Parts of the Dagster instance named in its dagster.yaml: the deployed instance's PostgreSQL
storage, whose password can change under it, and the local instance's run launcher.

The containers log in as their own user (dagster_app, not the master), whose password is in a
Secrets Manager secret (infra/cfn/orchestrator.yaml). `SecretPostgresStorage` (named in
infra/dagster.yaml) is dagster-postgres's storage with the password taken from that secret
each time a connection is made (through dagster-postgres's token hook): read once per process,
kept in memory, and read again after PostgreSQL refuses it, so the connection retried by
dagster-postgres after a password change uses the new password. TLS and the server's
certificate check come from libpq's PGSSLMODE and PGSSLROOTCERT.

`LocalRunLauncher` (named in the dagster.yaml `lake ui` and `lake build` write) is Dagster's
default launcher that also answers run monitoring: a run whose process is gone has failed.
"""

import json
import os

import boto3
from dagster import DagsterEventType, DefaultRunLauncher, Field, StringSource
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus  # no public name in 1.13
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import pg_config, pg_url_from_config
from sqlalchemy import event
from sqlalchemy.engine import Engine

_passwords: dict[str, str] = {}  # secret ARN -> the password last read from it


class SecretPassword:
    """The `password` field of a secret (RDS's JSON), as a dagster-postgres token provider."""

    def __init__(self, secret_arn: str):
        self.secret_arn = secret_arn

    def get_token(self) -> str:
        if self.secret_arn not in _passwords:
            region = self.secret_arn.split(":")[3]
            secret = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=self.secret_arn)
            _passwords[self.secret_arn] = json.loads(secret["SecretString"])["password"]
        return _passwords[self.secret_arn]


@event.listens_for(Engine, "handle_error")
def _forget_refused_passwords(context) -> None:
    """A refused login (the password rotated): the next connection reads the secret again."""
    if "password authentication failed" in str(context.original_exception):
        _passwords.clear()


class SecretPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's storage, configured like it (`postgres_db` without its password) plus
    `password_secret_arn`."""

    @classmethod
    def config_type(cls):
        return {**pg_config(), "password_secret_arn": Field(
            StringSource, description="The Secrets Manager secret (JSON with `password`) of the database password")}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(pg_url_from_config(config_value), config_value.get("should_autocreate_tables", True),
                   inst_data=inst_data, token_provider=SecretPassword(config_value["password_secret_arn"]))


def process_alive(pid: int) -> bool:
    """Whether a process of this machine with that id is running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_process(instance, run_id: str) -> int | None:
    """The process id of a run: the first of its engine events that names one ("Started process
    for run" of a run the daemon launched, "Executing steps in process" of `lake build`'s)."""
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        pid = entry.dagster_event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(pid.value)
    return None


class LocalRunLauncher(DefaultRunLauncher):
    """Dagster's default run launcher (each run a process of the code server on this machine)
    that tells run monitoring when a run's process is gone (killed, out of memory), so the
    daemon marks the run failed and frees its pool slots; Dagster's own cannot tell."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        pid = run_process(self._instance, run.run_id)
        if pid is None or process_alive(pid):  # not started yet, or running
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process {pid} ended before the run did")


def grant_app_login(master_dsn: dict, user: str, password: str) -> None:
    """Create the containers' login `user` with `password` (or give it that password), and make it
    the owner of the database `master_dsn` names and of its tables, so that `dagster instance
    migrate` runs as it. Run as the master user, once per deployment and after each change of the
    password."""
    import psycopg2
    from psycopg2 import sql

    role = sql.Identifier(user)
    with psycopg2.connect(**master_dsn) as conn, conn.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = %s", (user,))
        verb = "alter" if cur.fetchone() else "create"
        cur.execute(sql.SQL(verb + " role {} with login password %s").format(role), (password,))
        cur.execute(sql.SQL("grant {} to current_user").format(role))  # to hand over what the master owns
        cur.execute(sql.SQL("alter database {} owner to {}").format(sql.Identifier(master_dsn["dbname"]), role))
        cur.execute("select tablename from pg_tables where schemaname = 'public' and tableowner = current_user")
        for (table,) in cur.fetchall():
            cur.execute(sql.SQL("alter table {} owner to {}").format(sql.Identifier(table), role))
        cur.execute(sql.SQL("grant all on schema public to {}").format(role))


if __name__ == "__main__":
    # The one-off ECS task of infra/cfn/orchestrator.yaml (DatabaseLoginTaskDefinition).
    import os

    app_secret = os.environ["DAGSTER_PG_PASSWORD_SECRET_ARN"]
    app_user = os.environ["DAGSTER_PG_USERNAME"]
    grant_app_login(dict(host=os.environ["DAGSTER_PG_HOST"], port=os.environ["DAGSTER_PG_PORT"],
                         dbname=os.environ["DAGSTER_PG_DB"], user=os.environ["DAGSTER_PG_MASTER_USERNAME"],
                         password=os.environ["DAGSTER_PG_MASTER_PASSWORD"]),
                    app_user, SecretPassword(app_secret).get_token())
    print(f"database login {app_user} has the password of {app_secret} and owns {os.environ['DAGSTER_PG_DB']}")
