"""The CloudFormation templates (infra/cfn) agree with what the code reads and writes: the
environment the Dagster task sets builds the EMR resources with the lake stack's outputs, the
roles allow the S3 prefixes the code uses, and the Glue database holds the lake's Iceberg tables.
The least-privilege, key, network and logging points: test_infra_security.py."""

import copy
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from lake_assets.orchestration.environments import resources_for

INFRA = Path(__file__).resolve().parents[2] / "infra"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub …) read as their long forms."""


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        value = value.split(".", 1) if suffix == "GetAtt" else value
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def template(name: str) -> dict:
    return yaml.load((INFRA / "cfn" / f"{name}.yaml").read_text(), Loader=CfnLoader)


LAKE, ORCHESTRATOR = template("lake"), template("orchestrator")
TEMPLATES = {path.stem: template(path.stem) for path in sorted((INFRA / "cfn").glob("*.yaml"))}


def resolve(value, params: dict):
    """A task setting as a string: imports become `<OutputName>`, parameters their value."""
    if isinstance(value, str):
        return value
    (fn, arg), = value.items()
    if fn == "Fn::ImportValue":
        return "<" + arg["Fn::Sub"].split("}-")[-1] + ">"
    if fn == "Ref":
        return params.get(arg, f"<{arg}>")
    if fn == "Fn::Select":
        return f"<{arg[1]['Ref']}[{arg[0]}]>"
    return f"<{'.'.join(arg) if fn == 'Fn::GetAtt' else fn}>"


def containers() -> list[dict]:
    return ORCHESTRATOR["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]


def task_env(lake_env: str) -> dict[str, str]:
    container = containers()[0]
    env = {e["Name"]: resolve(e["Value"], {"LakeEnv": lake_env}) for e in container["Environment"]}
    return {**env, **{s["Name"]: "<secret>" for s in container["Secrets"]}}


def exports(tmpl: dict) -> set[str]:
    return {o["Export"]["Name"]["Fn::Sub"].split("}-")[-1] for o in tmpl["Outputs"].values() if "Export" in o}


def test_webserver_and_daemon_get_the_same_settings():
    first, *others, _ = containers()
    assert [c["Name"] for c in containers()] == ["webserver", "daemon", "reader", "guard"]
    for other in others:
        assert other["Environment"] == first["Environment"] and other["Secrets"] == first["Secrets"]
        assert other["Image"] == first["Image"] and other["MountPoints"] == first["MountPoints"]


def test_task_sets_what_dagster_yaml_reads():
    read = set(re.findall(r"\{env: (\w+)\}", (INFRA / "dagster.yaml").read_text()))
    assert read and read <= set(task_env("emr-serverless"))


def imports(node) -> set[str]:
    """The output names that `node` imports (`lake-${Environment}-<Name>`)."""
    if isinstance(node, dict):
        if "Fn::ImportValue" in node:
            return {node["Fn::ImportValue"]["Fn::Sub"].split("}-")[-1]}
        return set().union(*map(imports, node.values()))
    return set().union(*map(imports, node)) if isinstance(node, list) else set()


def test_every_import_is_a_lake_output():
    assert exports(LAKE) >= imports(ORCHESTRATOR) >= {"LakeBucketName", "OrchestratorRoleArn"}


def test_lake_settings_only_names_the_code_reads():
    code = "".join(p.read_text() for p in (INFRA.parent / "lake_assets").rglob("*.py"))
    set_by_task = {name for name in task_env("emr") if name.startswith("LAKE_")}
    assert set_by_task <= set(re.findall(r"LAKE_[A-Z0-9_]+", code))


def test_emr_serverless_settings_reach_the_engine(monkeypatch):
    for name, value in task_env("emr-serverless").items():
        monkeypatch.setenv(name, value)
    resources = resources_for()
    engine = resources["engine"]
    assert engine.application_id == "<EmrServerlessApplicationId>"
    assert engine.execution_role_arn == "<EmrExecutionRoleArn>"
    assert engine.maintenance_role_arn == "<EmrMaintenanceRoleArn>"
    assert engine.bucket == "<LakeBucketName>" and engine.logs_uri == "<EmrLogsUri>"
    assert resources["lake"].lake_dir == "s3://<LakeBucketName>/lake"
    assert resources["lake"].raw_dir == "s3://<LakeBucketName>/raw"
    # the pinned release: read from its own folder, and the job is told which one to expect
    assert engine.entry_point == "s3://<LakeBucketName>/artifacts/lake_assets/<ArtifactsSha256>/spark_job.py"
    assert engine.job_arguments("dim_visa")[-2:] == ["--artifacts-sha256", "<ArtifactsSha256>"]
    assert re.fullmatch(ORCHESTRATOR["Parameters"]["ArtifactsSha256"]["AllowedPattern"], "ab" * 32)


def test_emr_cluster_settings_reach_the_engine(monkeypatch):
    for name, value in task_env("emr").items():
        monkeypatch.setenv(name, value)
    engine = resources_for()["engine"]
    assert (engine.service_role, engine.instance_profile) == ("<EmrServiceRoleName>", "<EmrInstanceProfileName>")
    assert engine.maintenance_instance_profile == "<EmrMaintenanceInstanceProfileName>"
    assert engine.release_label == "<EmrReleaseLabel>" and engine.subnet_id == "<PrivateSubnetIds[0]>"


def resolved(node, conditions: dict[str, bool]):
    """`node` with each Fn::If decided by `conditions` and AWS::NoValue dropped."""
    if isinstance(node, dict):
        if "Fn::If" in node:
            name, yes, no = node["Fn::If"]
            return resolved(yes if conditions[name] else no, conditions)
        return {k: resolved(v, conditions) for k, v in node.items()}
    if isinstance(node, list):
        return [v for v in (resolved(v, conditions) for v in node) if v != {"Ref": "AWS::NoValue"}]
    return node


def statements_of(resource: dict, conditions: dict[str, bool] | None = None) -> list[dict]:
    props = resolved(resource["Properties"], conditions if conditions is not None else {})
    docs = [props[k] for k in ("PolicyDocument", "KeyPolicy") if k in props] + [
        p["PolicyDocument"] for p in props.get("Policies", [])]
    return [s for doc in docs for s in doc["Statement"]]


def policy_statements(resource: dict) -> dict[str, dict]:
    """Statements by Sid, those of every condition included."""
    return {s["Sid"]: s for s in statements_of(resource, defaultdict(lambda: True))}


def bucket_arns(bucket: str) -> tuple[str, str]:
    """How a policy names a bucket of the lake stack: by its ARN, or built from its name (where
    the attribute would make a circle: the lake key's policy names the roles)."""
    return "${" + bucket + ".Arn}", "arn:${AWS::Partition}:s3:::" + LAKE["Resources"][bucket]["Properties"]["BucketName"]["Fn::Sub"]


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def allowed_prefixes(statement: dict, bucket: str) -> set[str]:
    subs = [r["Fn::Sub"] for r in listed(statement["Resource"]) if isinstance(r, dict) and "Fn::Sub" in r]
    return {r.split("/", 1)[1] for r in subs for arn in bucket_arns(bucket) if r.startswith(arn + "/")}


def test_roles_allow_the_prefixes_the_code_uses(monkeypatch):
    for name, value in task_env("emr-serverless").items():
        monkeypatch.setenv(name, value)
    resources, bucket = resources_for(), "s3://<LakeBucketName>/"
    engine, lake = resources["engine"], resources["lake"]
    spark = policy_statements(LAKE["Resources"]["SparkDataPolicy"])
    assert lake.raw_dir.removeprefix(bucket) + "/*" in allowed_prefixes(spark["ReadSources"], "LakeBucket")
    assert engine.artifacts_uri.removeprefix(bucket).split("/")[0] + "/*" in allowed_prefixes(spark["ReadSources"], "LakeBucket")
    assert {lake.lake_dir.removeprefix(bucket) + "/*"} == allowed_prefixes(spark["WriteLake"], "LakeBucket")
    assert LAKE["Outputs"]["EmrLogsUri"]["Value"]["Fn::Sub"] == "s3://${LogsBucket}/emr/"
    assert allowed_prefixes(spark["JobLogs"], "LogsBucket") == {"emr/*"}
    orchestrator = policy_statements(LAKE["Resources"]["OrchestratorRole"])
    assert orchestrator["EmrClusterCreate"]["Condition"]["StringEquals"]["aws:RequestTag/project"] == engine.tags["project"]
    assert [r["Fn::GetAtt"][0] for r in orchestrator["PassSparkRoles"]["Resource"]] == [
        "EmrServerlessExecutionRole", "EmrServerlessMaintenanceRole", "EmrServiceRole", "EmrNodeRole",
        "EmrMaintenanceNodeRole"]


def actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_orchestrator_acts_only_on_clusters_tagged_when_created():
    """It creates clusters only with the engine's project tag, and tags, steps into or terminates
    only clusters that already carry it: it can never tag someone else's cluster into its reach."""
    from lake_assets.orchestration.engines import EmrEngine

    project = EmrEngine.model_fields["tags"].default["project"]
    role = LAKE["Resources"]["OrchestratorRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    emr = [s for s in policy_statements(LAKE["Resources"]["OrchestratorRole"]).values()
           if any(a.startswith("elasticmapreduce:") for a in actions(s))]
    for statement in emr:
        assert statement["Effect"] == "Allow"
        if actions(statement) == ["elasticmapreduce:RunJobFlow"]:
            assert statement["Condition"] == {"StringEquals": {"aws:RequestTag/project": project}}
        else:
            assert statement["Condition"] == {"StringEquals": {"elasticmapreduce:ResourceTag/project": project}}
            assert statement["Resource"]["Fn::Sub"].endswith(":cluster/*")
    allowed = {a for s in emr for a in actions(s)}
    assert {"elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags", "elasticmapreduce:AddJobFlowSteps",
            "elasticmapreduce:TerminateJobFlows"} <= allowed
    assert "elasticmapreduce:RemoveTags" not in allowed and not any("*" in a for a in allowed)


def test_pipes_messages_go_where_the_roles_allow(monkeypatch):
    for name, value in task_env("emr-serverless").items():
        monkeypatch.setenv(name, value)
    with resources_for()["engine"].message_reader().get_params() as params:
        assert params["key_prefix"].startswith("pipes/")


def test_buckets_encrypted_versioned_private_tls_only():
    resources = LAKE["Resources"]
    buckets = [name for name, r in resources.items() if r["Type"] == "AWS::S3::Bucket"]
    assert sorted(buckets) == ["LakeBucket", "LogsBucket"]
    for name in buckets:
        props = resources[name]["Properties"]
        assert props["VersioningConfiguration"]["Status"] == "Enabled"
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        policy = next(r for r in resources.values()
                      if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": name})
        tls = policy_statements(policy)["TlsOnly"]
        assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = {r["Id"]: r for r in resources["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["raw-to-cheaper-tiers"]["Prefix"] == "raw/" and "NoncurrentVersionExpiration" in rules["old-versions"]
    assert "ExpirationInDays" in resources["LogsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]


def test_emr_serverless_costs_nothing_idle():
    app = LAKE["Resources"]["SparkApplication"]["Properties"]
    assert app["AutoStopConfiguration"]["Enabled"] and "InitialCapacity" not in app
    assert set(app["MaximumCapacity"]) == {"Cpu", "Memory", "Disk"}
    # The release whose Spark matches the pin, and the one the EMR-on-EC2 engine defaults to.
    assert LAKE["Parameters"]["EmrReleaseLabel"]["Default"] == "emr-7.13.0"
    from lake_assets.orchestration.engines import EmrClusterEngine
    assert EmrClusterEngine.model_fields["release_label"].default == "emr-7.13.0"
    import pyspark
    assert pyspark.__version__ == "3.5.6"  # emr-7.13.0 ships Spark 3.5.6


def test_lake_tables_are_iceberg_tables_in_the_glue_database(monkeypatch):
    """No table is declared by hand: each is created by its first Iceberg commit in the Glue
    database the containers name, which the Spark jobs may create tables in and commit to."""
    from lake_assets.core.catalog import Catalog

    assert not [r for r in LAKE["Resources"].values() if r["Type"] == "AWS::Glue::Table"]
    for name, value in task_env("emr-serverless").items():
        monkeypatch.setenv(name, value)
    lake = resources_for()["lake"]
    catalog = lake.catalog()
    assert (catalog.location, catalog.namespace) == ("glue", "<GlueDatabaseName>")
    assert "GlueDatabaseName" in exports(LAKE)
    conf = catalog.spark_conf()
    assert conf["spark.sql.catalog.lake.type"] == "glue"
    assert conf["spark.sql.catalog.lake.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert Catalog.for_lake(lake.lake_dir).warehouse == "s3://<LakeBucketName>/lake"
    commit = policy_statements(LAKE["Resources"]["SparkDataPolicy"])["CatalogCommit"]
    assert {"glue:CreateTable", "glue:UpdateTable", "glue:GetTable"} <= set(commit["Action"])
    assert {"Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${LakeDatabase}/*"} \
        in commit["Resource"]
    database = LAKE["Resources"]["LakeDatabase"]["Properties"]["DatabaseInput"]
    bucket_name = LAKE["Resources"]["LakeBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert database["LocationUri"] == {"Fn::Sub": f"s3://{bucket_name}/lake/"}


def test_containers_log_in_as_their_own_database_user_over_verified_tls():
    """Their own user (not the master, whose secret they cannot read), whose password they read
    themselves when they connect (not ECS at start); TLS with the server's certificate and host
    name checked against the RDS CA bundle the image installs."""
    resources = ORCHESTRATOR["Resources"]
    container = containers()[0]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert not [s for s in container["Secrets"] if s["Name"].startswith("DAGSTER_PG")]
    reader = resources["DatabaseSecretReader"]["Properties"]
    role_name_of_arn = reader["RoleName"]["Fn::Select"][1]["Fn::Split"]
    assert role_name_of_arn[1] == resources["TaskDefinition"]["Properties"]["TaskRoleArn"]
    read_secret = reader["PolicyDocument"]["Statement"][0]
    assert read_secret["Action"] == "secretsmanager:GetSecretValue"
    assert read_secret["Resource"] == env["DAGSTER_PG_PASSWORD_SECRET_ARN"] == {"Ref": "AppDatabaseSecret"}
    master = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}
    assert master not in [r for s in reader["PolicyDocument"]["Statement"] for r in listed(s["Resource"])]
    app_login = resources["AppDatabaseSecret"]["Properties"]["GenerateSecretString"]
    assert json.loads(app_login["SecretStringTemplate"])["username"] == env["DAGSTER_PG_USERNAME"] == "dagster_app"
    assert env["DAGSTER_PG_USERNAME"] != resources["Database"]["Properties"]["MasterUsername"]
    assert env["PGSSLMODE"] == "verify-full"
    dockerfile = (INFRA / "Dockerfile").read_text()
    bundle = re.search(r"^ENV PGSSLROOTCERT=(\S+)$", dockerfile, re.M).group(1)
    assert re.search(rf"^ADD .*https://truststore\.pki\.rds\.amazonaws\.com/global/global-bundle\.pem {bundle}$",
                     dockerfile, re.M)


# ---------------------------------------------------------------- who reaches the UI

LISTENER, LISTENER_RULE = "AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule"


def forwards_before_authenticating(tmpl: dict) -> list[str]:
    """Listeners and listener rules of internet-facing load balancers (any scheme but a literal
    `internal`, or one imported from elsewhere) that forward before an authenticate action."""
    resources = tmpl["Resources"]

    def internet_facing(arn) -> bool:
        balancer = resources.get(arn.get("Ref")) if isinstance(arn, dict) else None
        return balancer is None or balancer["Properties"].get("Scheme", "internet-facing") != "internal"

    found = []
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == LISTENER:
            balancer, actions_ = props["LoadBalancerArn"], props["DefaultActions"]
        elif resource["Type"] == LISTENER_RULE:
            balancer, actions_ = resources[props["ListenerArn"]["Ref"]]["Properties"]["LoadBalancerArn"], props["Actions"]
        else:
            continue
        if not internet_facing(balancer):
            continue
        kinds = [a["Type"] for a in sorted(actions_, key=lambda a: a.get("Order", 0))]
        first_auth = next((i for i, kind in enumerate(kinds) if kind.startswith("authenticate-")), len(kinds))
        if "forward" in kinds[:first_auth]:
            found.append(name)
    return found


def test_no_internet_facing_listener_forwards_without_authenticating():
    listeners = [n for t in TEMPLATES.values() for n, r in t["Resources"].items() if r["Type"] == LISTENER]
    assert listeners == ["HttpsListener"]
    assert {name: forwards_before_authenticating(t) for name, t in TEMPLATES.items()} == {name: [] for name in TEMPLATES}
    # the walk does see a listener that forwards straight away
    bare = copy.deepcopy(ORCHESTRATOR)
    bare["Resources"]["HttpsListener"]["Properties"]["DefaultActions"] = [{"Type": "forward", "TargetGroupArn": "x"}]
    assert forwards_before_authenticating(bare) == ["HttpsListener"]


def test_operators_sign_in_to_the_stacks_own_user_pool():
    resources = ORCHESTRATOR["Resources"]
    auth = resources["HttpsListener"]["Properties"]["DefaultActions"][0]
    assert auth["Type"] == "authenticate-cognito"
    config = auth["AuthenticateCognitoConfig"]
    assert config["UserPoolArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert config["OnUnauthenticatedRequest"] == "authenticate"
    pool = resources["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True} and pool["MfaConfiguration"] == "ON"
    client = resources["UserPoolClient"]["Properties"]
    assert client["CallbackURLs"] == [{"Fn::Sub": "${UiUrl}/oauth2/idpresponse"}] and client["GenerateSecret"]
    assert resources["LoadBalancer"]["Properties"]["Scheme"] == "internet-facing"


def _arg(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def test_only_the_guard_faces_the_load_balancer():
    resources = ORCHESTRATOR["Resources"]
    by_name = {c["Name"]: c for c in containers()}
    web, reader, guard = (by_name[name]["Command"] for name in ("webserver", "reader", "guard"))
    assert [c["Name"] for c in containers() if "PortMappings" in c] == ["guard"]
    assert web[0] == reader[0] == "dagster-webserver" and _arg(web, "-h") == _arg(reader, "-h") == "127.0.0.1"
    assert "--read-only" not in web and "--read-only" in reader
    assert guard[:3] == ["python", "-m", "lake_assets.tools.guard"] and _arg(guard, "--upstream") == _arg(web, "-p")
    assert _arg(guard, "--read-only-upstream") == _arg(reader, "-p") != _arg(web, "-p")
    port = int(_arg(guard, "--port"))
    assert by_name["guard"]["PortMappings"] == [{"ContainerPort": port, "Protocol": "tcp"}]
    assert resources["Service"]["Properties"]["LoadBalancers"] == [
        {"ContainerName": "guard", "ContainerPort": port, "TargetGroupArn": {"Ref": "TargetGroup"}}]
    assert resources["TargetGroup"]["Properties"]["Port"] == port
    ingress = resources["TaskSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [(r["FromPort"], r["ToPort"], r["SourceSecurityGroupId"]) for r in ingress] == [
        (port, port, {"Ref": "LoadBalancerSecurityGroup"})]
    # The guard trusts this stack's load balancer and names this pool's operators group.
    env = {e["Name"]: e["Value"] for e in by_name["guard"]["Environment"]}
    assert env == {"LAKE_UI_URL": {"Ref": "UiUrl"}, "LAKE_GUARD_ALB_ARN": {"Ref": "LoadBalancer"},
                   "LAKE_GUARD_OPERATORS_GROUP": {"Ref": "OperatorsGroup"}}
    group = resources["OperatorsGroup"]
    assert group["Type"] == "AWS::Cognito::UserPoolGroup" and group["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
    code = (INFRA.parent / "lake_assets" / "core" / "settings.py").read_text()
    assert all(f'"{name}"' in code for name in env)


@pytest.mark.parametrize("cidr, allowed", [
    ("0.0.0.0/0", False), ("10.1.2.3/0", False), ("0.0.0.0/7", False), ("203.0.113.0/24 ", False),
    ("203.0.113.0/24", True), ("10.0.0.0/8", True), ("198.51.100.7/32", True)])
def test_allowed_cidr_refuses_the_whole_internet(cidr, allowed):
    pattern = ORCHESTRATOR["Parameters"]["AllowedCidr"]["AllowedPattern"]
    assert bool(re.search(pattern, cidr)) is allowed


# ---------------------------------------------------------------- health and alarms


def test_daemon_health_check_reads_the_daemons_heartbeats(tmp_path, monkeypatch):
    """The daemon container's health command passes on fresh heartbeats of every daemon and fails
    when there are none or they are older than its tolerance."""
    import os
    import subprocess
    import sys
    import time

    from dagster import DagsterInstance
    from dagster._daemon.types import DaemonHeartbeat

    kind, command = containers()[1]["HealthCheck"]["Command"]
    assert kind == "CMD-SHELL" and "dagster-daemon liveness-check" in command
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def healthy_after(age_seconds: float | None) -> bool:
        with DagsterInstance.get() as instance:
            instance.wipe_daemon_heartbeats()
            if age_seconds is not None:
                for daemon_type in instance.get_required_daemon_types():
                    instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - age_seconds, daemon_type, "d", []))
        return subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=120).returncode == 0

    assert (healthy_after(None), healthy_after(30), healthy_after(600)) == (False, True, False)


def test_alarms_reach_the_operators():
    from lake_assets.orchestration.sensors import FAILED_RUNS_METRIC

    resources = ORCHESTRATOR["Resources"]
    topic = {"Ref": "AlarmTopic"}
    assert resources["AlarmTopic"]["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    alarms = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    rules = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::Events::Rule"}
    assert all(a["AlarmActions"] == [topic] for a in alarms.values())
    assert all(r["Targets"] == [{"Id": "operators", "Arn": topic}] for r in rules.values())
    watched = {(a["Namespace"] if isinstance(a["Namespace"], str) else a["Namespace"]["Fn::Sub"], a["MetricName"])
               for a in alarms.values()}
    assert watched == {("lake/${Environment}", FAILED_RUNS_METRIC), ("lake/${Environment}", "DaemonErrors"),
                       ("AWS/RDS", "FreeStorageSpace"), ("AWS/ApplicationELB", "HealthyHostCount")}
    assert {tuple(r["EventPattern"]["detail-type"]) for r in rules.values()} == {
        ("ECS Task State Change",), ("EMR Serverless Job Run State Change",),
        ("EMR Step Status Change", "EMR Cluster State Change")}
    # the failure sensor writes where the alarm reads, and the task role may write only there
    namespace = next(e["Value"] for e in containers()[1]["Environment"] if e["Name"] == "LAKE_METRICS_NAMESPACE")
    allowed = policy_statements(LAKE["Resources"]["OrchestratorRole"])["FailedRunsMetric"]
    assert namespace == allowed["Condition"]["StringEquals"]["cloudwatch:namespace"] == {"Fn::Sub": "lake/${Environment}"}


def test_daemon_errors_and_failed_sensor_ticks_alarm_so_ingestion_cannot_stall_silently():
    """A failed tick is logged by the daemon's own logger (dagster.daemon.SensorDaemon) at ERROR,
    into the log group the daemon container writes to: the metric filter counts exactly such
    lines, and its alarm mails the operators."""
    import logging

    from dagster._daemon.daemon import get_default_daemon_logger
    from dagster._utils.log import define_default_formatter

    resources = ORCHESTRATOR["Resources"]
    metric = resources["DaemonErrorsMetric"]["Properties"]
    daemon_logs = containers()[1]["LogConfiguration"]["Options"]["awslogs-group"]
    assert metric["LogGroupName"] == daemon_logs == {"Ref": "LogGroup"}
    terms = re.findall(r'"([^"]+)"', metric["FilterPattern"])

    def line(logger: str, level: int) -> str:
        record = logging.LogRecord(logger, level, __file__, 1, "Sensor tick caught an error", None, None)
        return define_default_formatter().format(record)

    def counted(text: str) -> bool:
        return all(term in text for term in terms)

    assert counted(line(get_default_daemon_logger("SensorDaemon").name, logging.ERROR))
    assert not counted(line(get_default_daemon_logger("SensorDaemon").name, logging.INFO))
    assert not counted(line("dagster_webserver", logging.ERROR))
    (transform,) = metric["MetricTransformations"]
    alarm = next(r["Properties"] for r in resources.values()
                 if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == transform["MetricName"])
    assert alarm["Namespace"] == transform["MetricNamespace"] and alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum", 1, "GreaterThanOrEqualToThreshold")


def test_failed_emr_on_ec2_steps_and_clusters_alarm():
    """The states the cluster engine reads as failure are the ones the rule mails."""
    from lake_assets.orchestration.engines import CLUSTER_ENDED, STEP_FAILED

    rule = ORCHESTRATOR["Resources"]["EmrFailedRule"]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.emr"] and rule["Targets"] == [{"Id": "operators", "Arn": {"Ref": "AlarmTopic"}}]
    assert "FAILED" in STEP_FAILED and "TERMINATED_WITH_ERRORS" in CLUSTER_ENDED
    assert set(pattern["detail"]["state"]) == {"FAILED", "TERMINATED_WITH_ERRORS"}
    assert "COMPLETED" not in pattern["detail"]["state"] and "TERMINATED" not in pattern["detail"]["state"]
