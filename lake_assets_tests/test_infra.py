"""The CloudFormation templates (infra/cfn) agree with what the code reads and writes: the
environment the Dagster task sets builds the EMR resources with the lake stack's outputs, the
roles allow the S3 prefixes the code uses, and the Glue database holds the lake's Iceberg tables."""

import copy
import re
from pathlib import Path

import pytest
import yaml

from lake_assets.environments import resources_for

INFRA = Path(__file__).resolve().parent.parent / "infra"


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
    assert task_env("emr-serverless")["PGSSLMODE"] == "require"


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
    assert engine.release_label == "<EmrReleaseLabel>" and engine.subnet_id == "<PrivateSubnetIds[0]>"


def policy_statements(resource: dict) -> dict[str, dict]:
    props = resource["Properties"]
    docs = [props["PolicyDocument"]] if "PolicyDocument" in props else [p["PolicyDocument"] for p in props["Policies"]]
    return {s["Sid"]: s for doc in docs for s in doc["Statement"]}


def allowed_prefixes(statement: dict, bucket: str) -> set[str]:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return {r["Fn::Sub"].split("/", 1)[1] for r in resources if r["Fn::Sub"].startswith("${" + bucket + ".Arn}/")}


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
        "EmrServerlessExecutionRole", "EmrServiceRole", "EmrNodeRole"]


def actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_orchestrator_acts_only_on_clusters_tagged_when_created():
    """It creates clusters only with the engine's project tag, and tags, steps into or terminates
    only clusters that already carry it: it can never tag someone else's cluster into its reach."""
    from lake_assets.engines import EmrEngine

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
    from lake_assets.engines import EmrClusterEngine
    assert EmrClusterEngine.model_fields["release_label"].default == "emr-7.13.0"
    import pyspark
    assert pyspark.__version__ == "3.5.6"  # emr-7.13.0 ships Spark 3.5.6


def test_lake_tables_are_iceberg_tables_in_the_glue_database(monkeypatch):
    """No table is declared by hand: each is created by its first Iceberg commit in the Glue
    database the containers name, which the Spark jobs may create tables in and commit to."""
    from lake_assets.catalog import Catalog

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
    assert database["LocationUri"] == {"Fn::Sub": "s3://${LakeBucket}/lake/"}


def test_task_role_may_read_the_database_secret_dagster_yaml_reads():
    """The password rotates, so the containers read its secret themselves (not ECS at start)."""
    resources = ORCHESTRATOR["Resources"]
    container = containers()[0]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert not [s for s in container["Secrets"] if s["Name"].startswith("DAGSTER_PG")]
    reader = resources["DatabaseSecretReader"]["Properties"]
    role_name_of_arn = reader["RoleName"]["Fn::Select"][1]["Fn::Split"]
    assert role_name_of_arn[1] == resources["TaskDefinition"]["Properties"]["TaskRoleArn"]
    read_secret = reader["PolicyDocument"]["Statement"][0]
    assert read_secret["Action"] == "secretsmanager:GetSecretValue"
    assert read_secret["Resource"] == env["DAGSTER_PG_PASSWORD_SECRET_ARN"] == {
        "Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}


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
    assert guard[:3] == ["python", "-m", "lake_assets.guard"] and _arg(guard, "--upstream") == _arg(web, "-p")
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
    code = (INFRA.parent / "lake_assets" / "settings.py").read_text()
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
    from lake_assets.sensors import FAILED_RUNS_METRIC

    resources = ORCHESTRATOR["Resources"]
    topic = {"Ref": "AlarmTopic"}
    assert resources["AlarmTopic"]["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    alarms = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    rules = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::Events::Rule"}
    assert all(a["AlarmActions"] == [topic] for a in alarms.values())
    assert all(r["Targets"] == [{"Id": "operators", "Arn": topic}] for r in rules.values())
    watched = {(a["Namespace"] if isinstance(a["Namespace"], str) else a["Namespace"]["Fn::Sub"], a["MetricName"])
               for a in alarms.values()}
    assert watched == {("lake/${Environment}", FAILED_RUNS_METRIC), ("AWS/RDS", "FreeStorageSpace"),
                       ("AWS/ApplicationELB", "HealthyHostCount")}
    assert {tuple(r["EventPattern"]["detail-type"]) for r in rules.values()} == {
        ("ECS Task State Change",), ("EMR Serverless Job Run State Change",)}
    # the failure sensor writes where the alarm reads, and the task role may write only there
    namespace = next(e["Value"] for e in containers()[1]["Environment"] if e["Name"] == "LAKE_METRICS_NAMESPACE")
    allowed = policy_statements(LAKE["Resources"]["OrchestratorRole"])["FailedRunsMetric"]
    assert namespace == allowed["Condition"]["StringEquals"]["cloudwatch:namespace"] == {"Fn::Sub": "lake/${Environment}"}
