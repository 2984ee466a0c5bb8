"""Each least-privilege, key, network and logging point of the templates (infra/cfn), with its
negative case: who may delete, read, decrypt and write what, where Spark runs and what leaves
the VPC, and what is logged."""

import re

from lake_assets.orchestration.environments import resources_for
from lake_assets_tests.orchestration.test_infra import (
    INFRA, LAKE, LISTENER, ORCHESTRATOR, TEMPLATES, allowed_prefixes, containers, listed, policy_statements, resolved,
    statements_of, task_env,
)


def allows(statements: list[dict], action: str, key: str, bucket: str = "LakeBucket") -> bool:
    """Whether an Allow statement grants `action` (exactly or by a wildcard) on the object `key`."""
    def matches(pattern: str, value: str) -> bool:
        return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), value) is not None

    return any(s["Effect"] == "Allow" and any(matches(a, action) for a in listed(s["Action"]))
               and any(matches(p, key) for p in allowed_prefixes(s, bucket)) for s in statements)


def role_statements(role: str) -> list[dict]:
    """Every statement of a role of the lake stack: inline and the stack's managed policies."""
    resources = LAKE["Resources"]
    found = statements_of(resources[role])
    for arn in resources[role]["Properties"].get("ManagedPolicyArns", []):
        found += statements_of(resources[arn["Ref"]])
    return found


BUILD_ROLES = ["EmrServerlessExecutionRole", "EmrNodeRole"]
MAINTENANCE_ROLES = ["EmrServerlessMaintenanceRole", "EmrMaintenanceNodeRole"]


def test_build_roles_add_and_commit_but_only_maintenance_deletes_under_lake():
    for role in BUILD_ROLES + MAINTENANCE_ROLES:
        statements = role_statements(role)
        assert allows(statements, "s3:PutObject", "lake/dim_visa/data/f.parquet")
        assert any("glue:UpdateTable" in listed(s["Action"]) for s in statements)
        assert allows(statements, "s3:DeleteObject", "lake/dim_visa/data/f.parquet") is (role in MAINTENANCE_ROLES)
        assert not allows(statements, "s3:DeleteObjectVersion", "lake/dim_visa/data/f.parquet")  # old versions stay
    # the check sees a delete granted by a wildcard
    assert allows([{"Effect": "Allow", "Action": "s3:Delete*", "Resource": {"Fn::Sub": "${LakeBucket.Arn}/lake/*"}}],
                  "s3:DeleteObject", "lake/x/f")


def test_maintenance_runs_with_the_role_that_may_delete():
    from types import SimpleNamespace

    from lake_assets.orchestration.engines import MAINTENANCE, EmrClusterEngine, EmrServerlessEngine
    from lake_assets.orchestration.resources import LakeResource

    shared = dict(lake=LakeResource(raw_dir="s3://b/raw", lake_dir="s3://b/lake"), bucket="b",
                  artifacts_uri="s3://b/artifacts", artifacts_sha256="0" * 64, logs_uri="s3://b/emr/")
    context = SimpleNamespace(run=SimpleNamespace(run_id="r" * 36))
    serverless = EmrServerlessEngine(application_id="app", execution_role_arn="build", maintenance_role_arn="maintain",
                                     **shared)
    assert serverless.start_job_run_params(context, "dim_visa")["executionRoleArn"] == "build"
    assert serverless.start_job_run_params(context, MAINTENANCE)["executionRoleArn"] == "maintain"
    cluster = EmrClusterEngine(instance_profile="build", maintenance_instance_profile="maintain", **shared)
    assert cluster.run_job_flow_params(context, "dim_visa")["JobFlowRole"] == "build"
    assert cluster.run_job_flow_params(context, MAINTENANCE)["JobFlowRole"] == "maintain"


def test_spark_roles_list_no_pipes_messages():
    for role in BUILD_ROLES + MAINTENANCE_ROLES:
        listings = [s for s in role_statements(role) if "s3:ListBucket" in listed(s["Action"])]
        assert listings and all(s["Condition"]["StringLike"]["s3:prefix"] for s in listings)
        assert not [p for s in listings for p in s["Condition"]["StringLike"]["s3:prefix"] if p.startswith("pipes")]


def test_orchestrator_reads_only_the_raw_listing_the_catalog_and_the_analytics_tables():
    from lake_assets.core.tables import BUILDS, TABLES

    statements = role_statements("OrchestratorRole")
    analytics = {t.name for b in BUILDS.values() if b.group == "analytics" for t in b.tables}
    assert analytics == {"metro_arrivals_monthly", "tourism_by_season", "arrivals_temperature_correlation"}
    for name in TABLES:
        assert allows(statements, "s3:GetObject", f"lake/{name}/data/f.parquet") is (name in analytics), name
    assert not allows(statements, "s3:GetObject", "raw/i94/i94_apr16_sub.parquet")  # the sensor lists the landing zone, never reads it
    listing = policy_statements(LAKE["Resources"]["OrchestratorRole"])["ListLake"]
    assert {"raw", "raw/*"} <= set(listing["Condition"]["StringLike"]["s3:prefix"])
    assert "lake/*" not in listing["Condition"]["StringLike"]["s3:prefix"]
    glue = {a for s in statements for a in listed(s["Action"]) if a.startswith("glue:")}
    assert glue and all(a.startswith("glue:Get") for a in glue)
    assert not [a for s in statements for a in listed(s["Action"]) if a in ("*", "s3:*", "glue:*", "kms:*")]


def test_artifacts_are_written_and_deleted_by_the_deploy_role_only(monkeypatch):
    for name, value in task_env("emr-serverless").items():
        monkeypatch.setenv(name, value)
    artifacts = resources_for()["engine"].artifacts_uri.removeprefix("s3://<LakeBucketName>/").split("/")[0]
    (deny,) = [s for s in statements_of(LAKE["Resources"]["LakeBucketPolicy"]) if s.get("Sid") == "ArtifactsOnlyByTheDeployRole"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert allowed_prefixes(deny, "LakeBucket") == {f"{artifacts}/*"}
    assert {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} <= set(deny["Action"])
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "DeployRoleArn"}}}
    for role in BUILD_ROLES + MAINTENANCE_ROLES + ["OrchestratorRole"]:
        assert not allows(role_statements(role), "s3:PutObject", f"{artifacts}/lake_assets/{'ab' * 32}/spark_job.py")
    # the orchestrator reads each release's bootstrap.sh (to check it), nothing else there
    orchestrator = role_statements("OrchestratorRole")
    assert allows(orchestrator, "s3:GetObject", f"{artifacts}/lake_assets/{'ab' * 32}/bootstrap.sh")
    assert not allows(orchestrator, "s3:GetObject", f"{artifacts}/lake_assets/{'ab' * 32}/lake_deps.tar.gz")


def key_statements(conditions: dict[str, bool]) -> dict[str, dict]:
    return {s["Sid"]: s for s in statements_of(LAKE["Resources"]["LakeKey"], conditions)}


def test_the_lake_and_athena_results_use_the_lakes_own_key_which_only_its_roles_use():
    resources = LAKE["Resources"]
    encryption = resources["LakeBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                          "KMSMasterKeyID": {"Fn::GetAtt": ["LakeKey", "Arn"]}}
    results = resources["ReadersWorkgroup"]["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS", "KmsKey": {"Fn::GetAtt": ["LakeKey", "Arn"]}}
    assert resources["LakeKey"]["Properties"]["EnableKeyRotation"] is True
    use = {"kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:*"}
    for conditions in ({"HasReaders": False, "OwnTrail": False}, {"HasReaders": True, "OwnTrail": True}):
        statements = key_statements(conditions)
        admin = statements["KeyAdministration"]
        assert not use & set(admin["Action"])  # the account administers the key but cannot read with it
        users = {}
        for statement in statements.values():
            assert statement["Effect"] == "Allow" and statement["Principal"] != "*"
            if use & set(listed(statement["Action"])) and "AWS" in statement["Principal"]:
                users[statement["Sid"]] = listed(statement["Principal"]["AWS"])
                assert statement["Condition"] == {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}}
        roles = {p["Fn::GetAtt"][0] for p in users["LakeRoles"] if "Fn::GetAtt" in p}
        assert roles == set(BUILD_ROLES + MAINTENANCE_ROLES + ["OrchestratorRole"])
        assert {"Ref": "DeployRoleArn"} in users["LakeRoles"]
        assert ("Readers" in users) is conditions["HasReaders"] and ("CloudTrail" in statements) is conditions["OwnTrail"]
        if conditions["HasReaders"]:
            assert users["Readers"] == [{"Ref": "ReaderRoleArns"}]


def test_athena_results_go_to_a_prefix_of_their_workgroup():
    resources = LAKE["Resources"]
    workgroup = resources["ReadersWorkgroup"]["Properties"]
    location = workgroup["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"]["Fn::Sub"]
    assert workgroup["Name"] == {"Fn::Sub": "lake-${Environment}"}
    assert location == "s3://${LogsBucket}/athena/" + workgroup["Name"]["Fn::Sub"] + "/"
    assert workgroup["WorkGroupConfiguration"]["EnforceWorkGroupConfiguration"] is True  # readers cannot send results elsewhere
    readers = statements_of(resources["ReadersPolicy"])
    assert allows(readers, "s3:PutObject", "athena/${ReadersWorkgroup}/q.csv", "LogsBucket")
    assert not allows(readers, "s3:GetObject", "athena/another-workgroup/q.csv", "LogsBucket")


def test_emr_serverless_runs_in_the_private_subnets():
    resources = LAKE["Resources"]
    network = resources["SparkApplication"]["Properties"]["NetworkConfiguration"]
    assert network["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
    (group,) = network["SecurityGroupIds"]
    egress = resources[group["Ref"]]["Properties"]["SecurityGroupEgress"]
    assert [(e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in egress] == [("tcp", 443, 443)]
    assert "SecurityGroupIngress" not in resources[group["Ref"]]["Properties"]


def test_the_s3_endpoint_reaches_only_the_projects_buckets_and_awss_package_buckets():
    network = TEMPLATES["network"]["Resources"]
    policy = network["S3Endpoint"]["Properties"]["PolicyDocument"]["Statement"]
    project = {"arn:${AWS::Partition}:s3:::" + LAKE["Resources"][b]["Properties"]["BucketName"]["Fn::Sub"] + suffix
               for b in ("LakeBucket", "LogsBucket") for suffix in ("", "/*")}
    for statement in policy:
        assert statement["Effect"] == "Allow"
        arns = {r["Fn::Sub"] for r in listed(statement["Resource"])}
        assert "*" not in arns
        assert arns == project or (listed(statement["Action"]) == ["s3:GetObject"]
                                   and all(a.startswith("arn:${AWS::Partition}:s3:::") and "lake" not in a for a in arns))
    assert project <= {r["Fn::Sub"] for s in policy for r in listed(s["Resource"])}


def test_task_egress_is_https_and_smtp_only_and_a_closed_network_keeps_it_in_the_vpc():
    resources = ORCHESTRATOR["Resources"]

    def egress(closed_network: bool) -> list[dict]:
        """The task's way out, but to the database's security group."""
        rules = resources["TaskSecurityGroup"]["Properties"]["SecurityGroupEgress"] + [
            r["Properties"] for r in resources.values() if r["Type"] == "AWS::EC2::SecurityGroupEgress"
            and r["Properties"]["GroupId"] == {"Ref": "TaskSecurityGroup"}
            and "DestinationSecurityGroupId" not in r["Properties"]
            and r.get("Condition") in (None, "Closed" if closed_network else None)]
        return resolved(rules, {"Closed": closed_network})

    opened, closed = egress(False), egress(True)
    ports = lambda rules: {(e["FromPort"], e["ToPort"]) for e in rules}  # noqa: E731
    assert ports(opened) == ports(closed) == {(443, 443), (587, 587)}
    assert [e.get("CidrIp", e.get("DestinationPrefixListId")) for e in closed] == [
        {"Ref": "VpcCidr"}, {"Ref": "VpcCidr"}, {"Ref": "S3PrefixListId"}]
    assert "0.0.0.0/0" in [e["CidrIp"] for e in opened]  # AWS's public endpoints through the NAT gateway
    network = TEMPLATES["network"]
    services = {r["Properties"]["ServiceName"]["Fn::Sub"].split("${AWS::Region}.")[1]
                for r in network["Resources"].values()
                if r.get("Condition") == "Closed" and r["Type"] == "AWS::EC2::VPCEndpoint"}
    assert {"ecr.api", "ecr.dkr", "logs", "secretsmanager", "email-smtp", "emr-serverless", "glue"} <= services
    assert {n for n, r in network["Resources"].items() if r.get("Condition") == "Open"} == {
        "NatAddress", "NatGateway", "PrivateDefaultRoute"}  # a closed network has no way out
    assert "interface endpoint" in (INFRA.parent / "docs" / "aws.md").read_text()


def test_flow_logs_record_all_traffic():
    (flow_log,) = [r["Properties"] for r in TEMPLATES["network"]["Resources"].values() if r["Type"] == "AWS::EC2::FlowLog"]
    assert flow_log["TrafficType"] == "ALL"


def test_the_listener_offers_only_a_restricted_tls_policy():
    restricted = {"ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06"}
    listeners = [r["Properties"] for t in TEMPLATES.values() for r in t["Resources"].values() if r["Type"] == LISTENER]
    assert listeners and all(listener["SslPolicy"] in restricted for listener in listeners)
    assert "ELBSecurityPolicy-TLS13-1-2-2021-06" not in restricted  # the default one admits CBC ciphers


def test_cloudtrail_records_the_lake_buckets_data_events_unless_the_organisations_trail_does():
    resources = LAKE["Resources"]
    assert LAKE["Parameters"]["OrganizationTrailName"]["Default"] == ""
    assert LAKE["Conditions"]["OwnTrail"] == {"Fn::Equals": [{"Ref": "OrganizationTrailName"}, ""]}
    trail = resources["DataEventsTrail"]
    assert trail["Condition"] == "OwnTrail"
    props = trail["Properties"]
    assert props["IsLogging"] and props["EnableLogFileValidation"] and props["KMSKeyId"] == {"Fn::GetAtt": ["LakeKey", "Arn"]}
    (selector,) = props["AdvancedEventSelectors"]
    fields = {f["Field"]: f for f in selector["FieldSelectors"]}
    assert fields["eventCategory"]["Equals"] == ["Data"] and fields["resources.type"]["Equals"] == ["AWS::S3::Object"]
    assert fields["resources.ARN"]["StartsWith"] == [{"Fn::Sub": "${LakeBucket.Arn}/"}]
    trail_arn = "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/" + props["TrailName"]["Fn::Sub"]
    writes = {s["Sid"]: s for s in statements_of(resources["LogsBucketPolicy"], {"OwnTrail": True}) if "Sid" in s}
    assert writes["CloudTrailWrite"]["Condition"]["StringEquals"]["aws:SourceArn"] == {"Fn::Sub": trail_arn}
    assert "CloudTrailWrite" not in {s.get("Sid") for s in statements_of(resources["LogsBucketPolicy"], {"OwnTrail": False})}
    assert key_statements({"HasReaders": False, "OwnTrail": True})["CloudTrail"]["Condition"]["StringEquals"][
        "aws:SourceArn"] == {"Fn::Sub": trail_arn}


def test_only_the_one_off_login_task_starts_with_the_master_password():
    resources = ORCHESTRATOR["Resources"]
    master = "${Database.MasterUserSecret.SecretArn}"
    login = resources["DatabaseLoginTaskDefinition"]["Properties"]
    (container,) = login["ContainerDefinitions"]
    assert container["Command"] == ["python", "-m", "lake_assets.orchestration.instance_storage"]
    assert {s["Name"]: s["ValueFrom"]["Fn::Sub"] for s in container["Secrets"]} == {
        "DAGSTER_PG_MASTER_USERNAME": master + ":username::", "DAGSTER_PG_MASTER_PASSWORD": master + ":password::"}
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["DAGSTER_PG_USERNAME"] == task_env("emr")["DAGSTER_PG_USERNAME"]
    assert env["DAGSTER_PG_PASSWORD_SECRET_ARN"] == {"Ref": "AppDatabaseSecret"} and env["PGSSLMODE"] == "verify-full"
    readers = {name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role" and any(
        s["Resource"] == {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]} for s in statements_of(r))}
    assert readers == {login["ExecutionRoleArn"]["Fn::GetAtt"][0]} == {"DatabaseLoginExecutionRole"}
    assert not [c for c in containers() if "DAGSTER_PG_MASTER_PASSWORD" in str(c)]
