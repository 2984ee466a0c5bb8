"""The guard in front of a real dagster-webserver: mutations only by same-origin JSON POSTs of
operators (signed in by the load balancer's ES256 header), reading open to every signed-in user;
`lake ui`'s loopback guard; and the maintenance retention that cannot erase the history."""

import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from dagster import DagsterInstance

from lake_assets.tools.guard import AlbIdentity, GuardServer, Policy, start, start_local

ALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/lake-dev-dagster/50dc6c495c0c9188"
ORIGIN = "https://lake.example.org"
DEFS = """
from dagster import Definitions, ScheduleDefinition, asset, define_asset_job

@asset
def upstream_table():
    return 1

@asset
def downstream_table(upstream_table):
    return upstream_table + 1

guard_job = define_asset_job("guard_job", [upstream_table])
defs = Definitions(assets=[upstream_table, downstream_table], jobs=[guard_job],
                   schedules=[ScheduleDefinition(name="guard_schedule", job=guard_job, cron_schedule="0 3 * * *")])
"""
LINEAGE = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"
RUNS = "{ runsOrError { ... on Runs { results { runId } } } }"
SCHEDULE = "query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) { ... on Schedule { scheduleState { status } } } }"
START_SCHEDULE = """mutation($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) {
    __typename ... on ScheduleStateResult { scheduleState { status } } } }"""
LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # with the padding the ALB leaves in


def _token(key, groups=(), *, kid="key-1", signer=ALB, expires_in=120, alg="ES256") -> str:
    """An `x-amzn-oidc-data` as the ALB makes it, signed with `key`."""
    head = _b64(json.dumps({"alg": alg, "kid": kid, "signer": signer, "client": "dagster-ui",
                            "iss": "https://cognito-idp.eu-west-1.amazonaws.com/pool",
                            "exp": int(time.time() + expires_in)}).encode())
    body = _b64(json.dumps({"sub": "user-1", "cognito:groups": list(groups)}).encode())
    r, s = decode_dss_signature(key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{head}.{body}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _request(port: int, method: str, path: str, body: bytes | None = None, **headers) -> tuple[int, dict | str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    return response.status, json.loads(text) if response.getheader("Content-Type", "").startswith("application/json") else text


def _gql(port: int, query: str, variables: dict | None = None, origin: str = ORIGIN, **headers):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    return _request(port, "POST", "/graphql", body, Content_Type="application/json", Origin=origin, **headers)


@pytest.fixture(scope="module")
def webservers(tmp_path_factory):
    """Two dagster-webservers on free loopback ports serving a tiny code location from one instance,
    the second `--read-only`: their ports. Stopped at the end."""
    folder = tmp_path_factory.mktemp("guard")
    (folder / "guard_defs.py").write_text(textwrap.dedent(DEFS))
    (folder / "home").mkdir()
    (folder / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    DagsterInstance.from_config(str(folder / "home")).dispose()  # its storage made once, not by both at a time
    ports, procs = (_free_port(), _free_port()), []
    log = (folder / "webserver.log").open("w")
    try:
        for port, extra in zip(ports, ([], ["--read-only"])):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dagster_webserver", "-f", str(folder / "guard_defs.py"),
                 "-h", "127.0.0.1", "-p", str(port), *extra], env=dict(os.environ, DAGSTER_HOME=str(folder / "home")),
                cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 120
        for port, proc in zip(ports, procs):
            while True:
                assert proc.poll() is None, (folder / "webserver.log").read_text()[-3000:]
                try:
                    status, answer = _gql(port, LINEAGE)
                    if status == 200 and answer["data"]["assetNodes"]:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, (folder / "webserver.log").read_text()[-3000:]
                time.sleep(1)
        yield ports
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):  # what is left of its group
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def webserver(webservers):
    """The port of the webserver operators reach."""
    return webservers[0]


@pytest.fixture(scope="module")
def alb_key(tmp_path_factory):
    """The ALB's signing key, its public half served as a file under the key URL."""
    key = ec.generate_private_key(ec.SECP256R1())
    keys = tmp_path_factory.mktemp("keys")
    (keys / "key-1").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, f"file://{keys}/{{kid}}"


@pytest.fixture(scope="module")
def deployed(webservers, alb_key):
    """The guard as behind the load balancer: its port, an operator's and a read-only user's header."""
    key, key_url = alb_key
    port = _free_port()
    policy = Policy((ORIGIN,), AlbIdentity(ALB, "operators", key_url))
    server = start(GuardServer(("127.0.0.1", port), ("127.0.0.1", webservers[0]), policy, ("127.0.0.1", webservers[1])))
    yield port, _token(key, ["operators"]), _token(key, ["analysts"])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def local(webserver):
    """`lake ui`'s guard on loopback: its port."""
    port = _free_port()
    server = start_local(port, webserver)
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def selector(webserver):
    """The tiny code location's repository selector."""
    _, answer = _gql(webserver, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }")
    repository = answer["data"]["repositoriesOrError"]["nodes"][0]
    return {"repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"]}


def _schedule_status(webserver: int, selector: dict) -> str:
    _, answer = _gql(webserver, SCHEDULE, {"s": {**selector, "scheduleName": "guard_schedule"}})
    return answer["data"]["scheduleOrError"]["scheduleState"]["status"]


def _launch_variables(selector: dict) -> dict:
    return {"p": {"selector": {**selector, "jobName": "guard_job"}}}


def test_guard_refuses_a_mutation_by_get(local, deployed, webserver, selector):
    mutation = "mutation{stopRunningSchedule(id:\"x\"){__typename}}"
    for port, headers in ((local, {}), (deployed[0], {"x_amzn_oidc_data": deployed[1]})):
        for path in ("/graphql", "/%67raphql", "//graphql/"):  # as the webserver would route them
            status, answer = _request(port, "GET", f"{path}?query={mutation}", **headers)
            assert status == 405 and "POST only" in answer["errors"][0]["message"], path
        status, _ = _request(port, "GET", "/graphql?query=%7B%20version%20%7D", **headers)  # a query by GET
        assert status == 200
    status, _ = _request(local, "GET", "/graphql?query=mutation%7B", Host=f"127.0.0.1:{local}")
    assert status == 400  # unparsable: refused, not passed on


def test_guard_refuses_cross_origin_posts_of_every_content_type(deployed, webserver, selector):
    port, operator, _ = deployed
    body = json.dumps({"query": START_SCHEDULE, "variables": {"s": {**selector, "scheduleName": "guard_schedule"}}})
    for content_type in ("application/json", "application/x-www-form-urlencoded", "text/plain",
                         "multipart/form-data; boundary=x", "text/plain; charset=application/json"):
        for origin in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {}):
            status, answer = _request(port, "POST", "/graphql", body.encode(), Content_Type=content_type,
                                      x_amzn_oidc_data=operator, **origin)
            assert status == 403 and "origin" in answer["errors"][0]["message"].lower(), (content_type, origin)
        # From the UI's own origin, only JSON (the exact media type) reaches the webserver.
        if content_type != "application/json":
            status, _ = _request(port, "POST", f"/graphql?query={START_SCHEDULE}".replace(" ", "%20").replace("\n", ""),
                                 body.encode(), Content_Type=content_type, Origin=ORIGIN, x_amzn_oidc_data=operator)
            assert status == 415, content_type
    status, _ = _request(port, "POST", "/report_asset_materialization/upstream_table", b"",
                         Origin="https://evil.example", x_amzn_oidc_data=operator)
    assert status == 403
    assert _schedule_status(webserver, selector) == "STOPPED"


def test_guard_read_only_user_sees_lineage_and_cannot_launch_a_run(deployed, webserver, selector):
    port, _, reader = deployed
    status, answer = _gql(port, LINEAGE, x_amzn_oidc_data=reader)
    assert status == 200
    assert {(tuple(n["assetKey"]["path"]), tuple(tuple(d["path"]) for d in n["dependencyKeys"]))
            for n in answer["data"]["assetNodes"]} == {(("upstream_table",), ()),
                                                      (("downstream_table",), (("upstream_table",),))}
    status, answer = _gql(port, LAUNCH, _launch_variables(selector), x_amzn_oidc_data=reader)
    assert status == 403 and "only operators" in answer["errors"][0]["message"]
    # Its UI is the read-only webserver's: the launch buttons are greyed out; an operator's are not.
    permissions = "{ permissions { permission value } }"
    for header, allowed in ((reader, False), (deployed[1], True)):
        _, answer = _gql(port, permissions, x_amzn_oidc_data=header)
        assert {p["permission"]: p["value"] for p in answer["data"]["permissions"]}["launch_pipeline_execution"] is allowed
    batch = json.dumps([{"query": LINEAGE}, {"query": LAUNCH, "variables": _launch_variables(selector)}]).encode()
    status, _ = _request(port, "POST", "/graphql", batch, Content_Type="application/json", Origin=ORIGIN,
                         x_amzn_oidc_data=reader)
    assert status == 403  # a mutation hidden in a batch
    status, _ = _request(port, "POST", "/report_asset_materialization/upstream_table", b"", Origin=ORIGIN,
                         x_amzn_oidc_data=reader)
    assert status == 403
    assert _gql(webserver, RUNS)[1]["data"]["runsOrError"]["results"] == []


def test_guard_operator_same_origin_json_mutation_runs(deployed, local, webserver, selector):
    port, operator, _ = deployed
    schedule = {"s": {**selector, "scheduleName": "guard_schedule"}}
    status, answer = _gql(port, START_SCHEDULE, schedule, x_amzn_oidc_data=operator)
    assert status == 200 and answer["data"]["startSchedule"]["scheduleState"]["status"] == "RUNNING", answer
    assert _schedule_status(webserver, selector) == "RUNNING"
    # The local user of `lake ui` is the operator, from the UI's own origin only.
    stop = 'mutation($id: String!) { stopRunningSchedule(id: $id) { __typename } }'
    _, answer = _gql(webserver, "query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) { "
                                "... on Schedule { scheduleState { id } } } }", schedule)
    state_id = {"id": answer["data"]["scheduleOrError"]["scheduleState"]["id"]}
    status, _ = _gql(local, stop, state_id, origin="http://evil.example")
    assert status == 403
    status, _ = _gql(local, stop, state_id, origin=f"http://127.0.0.1:{local}", Host=f"rebound.example:{local}")
    assert status == 403  # a DNS name rebound to loopback is not the UI
    status, answer = _gql(local, stop, state_id, origin=f"http://localhost:{local}")
    assert status == 200 and answer["data"]["stopRunningSchedule"]["__typename"] == "ScheduleStateResult"
    assert _schedule_status(webserver, selector) == "STOPPED"


def test_guard_refuses_a_forged_unsigned_or_foreign_sign_in(deployed, alb_key, webserver):
    port, operator, _ = deployed
    key, _ = alb_key
    other = ec.generate_private_key(ec.SECP256R1())
    head, body, _ = operator.split(".")
    unsigned = _b64(json.dumps({"alg": "none", "kid": "key-1", "signer": ALB}).encode()) + f".{body}."
    for header in (None, "not-a-jwt", unsigned, _token(other, ["operators"]), f"{head}.{_token(key)[1]}",
                   _token(key, ["operators"], signer=ALB.replace("50dc", "60dc")),
                   _token(key, ["operators"], expires_in=-600), _token(key, ["operators"], kid="../etc")):
        headers = {"x_amzn_oidc_data": header} if header else {}
        status, answer = _gql(port, LINEAGE, **headers)
        assert status == 401, header
        assert _request(port, "GET", "/", **headers)[0] == 401
    assert _request(port, "GET", "/server_info")[0] == 200  # the load balancer's health check
    assert _gql(port, LINEAGE, x_amzn_oidc_data=operator)[0] == 200


def _upgrade(port: int, origin: str, method: str = "GET", path: str = "/graphql", **headers) -> bytes:
    """The answer to a websocket upgrade of /graphql; once upgraded, also to a graphql-ws `connection_init`."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Protocol: graphql-ws", f"Origin: {origin}", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = s.recv(4096)
        if b" 101 " in answer.split(b"\r\n", 1)[0]:
            data, mask = b'{"type": "connection_init", "payload": {}}', b"\x01\x02\x03\x04"
            s.sendall(bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
            while b"connection_ack" not in answer:
                answer += s.recv(4096)
        return answer


def test_guard_passes_the_ui_websocket_from_its_own_origin_only(deployed, local):
    port, _, reader = deployed
    assert b"connection_ack" in _upgrade(port, ORIGIN, **{"x-amzn-oidc-data": reader})
    assert b" 403 " in _upgrade(port, "https://evil.example", **{"x-amzn-oidc-data": reader})
    assert b" 401 " in _upgrade(port, ORIGIN)
    assert b"connection_ack" in _upgrade(local, f"http://127.0.0.1:{local}")
    assert b" 403 " in _upgrade(local, "http://evil.example")
    # An upgrade is a GET of /graphql: a POST or another path could smuggle a request past the checks.
    assert b" 400 " in _upgrade(local, f"http://127.0.0.1:{local}", method="POST")
    assert b" 400 " in _upgrade(local, f"http://127.0.0.1:{local}", path="/server_info")


def test_guard_maintenance_refuses_a_retention_that_erases_history(tmp_path, capsys):
    from pydantic import ValidationError

    from dagster import ResourceDefinition

    from lake_assets.orchestration.definitions import MaintenanceConfig, lake_maintenance
    from lake_assets.tools.cli import main

    assert MaintenanceConfig(retain_days=1, retain_last=1).retain_days == 1
    for values in ({"retain_days": 0}, {"retain_days": 0.5}, {"retain_last": 0}, {"retain_days": -1}):
        with pytest.raises(ValidationError, match="must be at least 1"):
            MaintenanceConfig(**values)
    # The job launched with such a config fails before it touches a table.
    maintained = []
    engine = ResourceDefinition.hardcoded_resource(type("Engine", (), {"maintain": lambda *a: maintained.append(a)})())
    run_config = {"ops": {"expire_clean_compact": {"config": {"retain_days": 0, "retain_last": 1}}}}
    result = lake_maintenance.execute_in_process(run_config=run_config, resources={"engine": engine}, raise_on_error=False)
    assert not result.success and maintained == []
    capsys.readouterr()  # the run's own log
    for args in (["--retain-days", "0"], ["--retain-last", "0"]):
        assert main(["clean", "--lake", str(tmp_path), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "must be at least 1" in err
