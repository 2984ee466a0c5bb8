"""The deployed Dagster instance's PostgreSQL storage, whose password rotates.

RDS keeps the database password in a Secrets Manager secret and changes it every 7 days.
`SecretPostgresStorage` (named in infra/dagster.yaml) is dagster-postgres's storage with the
password taken from that secret each time a connection is made (through dagster-postgres's
token hook): read once per process, kept in memory, and read again after PostgreSQL refuses
it, so the connection retried by dagster-postgres after a rotation uses the new password.
"""

import json

import boto3
from dagster import Field, StringSource
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
