"""The guard in front of dagster-webserver: UI actions by role and origin (no Dagster here).

Dagster's webserver has no roles, runs GraphQL mutations sent by GET, and never looks at a
request's origin. The guard is a reverse proxy (standard library only) that lets a request
through only when all of these hold:

- **Who**: behind the AWS load balancer, every request but the health check carries the ALB's
  signed `x-amzn-oidc-data` (an ES256 JWT): its signature is verified with the ALB's public key
  (fetched by key id, cached), its `signer` must be the configured ALB and it must not have
  expired. A missing, forged or unsigned one is refused. On loopback (`lake ui`) there is no
  ALB: the local user is the operator, and the `Host` must be the loopback address itself (no
  DNS rebinding).
- **What**: a GraphQL document is parsed (graphql-core) and each operation's type looked at,
  batched requests too; an unparsable one is refused. Mutations reach the webserver only by a
  POST of `application/json` (exactly that media type) and only from members of the operators
  group (the `cognito:groups` claim); everyone else gets the read-only UI: queries (lineage,
  runs, partitions) and subscriptions, served by a `dagster-webserver --read-only` when the
  guard has one (its UI then greys out what it may not do). Any other state-changing request
  (POST, PUT, DELETE … elsewhere, e.g. `/report_asset_materialization/…`) is for operators only too.
- **From where**: every state-changing request and every websocket upgrade must come from
  the UI's own origin: its `Origin` header, or when a browser sent none, the origin of its
  `Referer`; with neither it is refused.

Run it as `python -m lake_assets.tools.guard --port 3000 --upstream 3001 --read-only-upstream 3002`
(the deployment's sidecar, configured by `LAKE_UI_URL` and the `LAKE_GUARD_*` settings);
`lake ui` starts it with `start_local`.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import logging
import re
import select
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from graphql import GraphQLError, parse
from graphql.language import OperationDefinitionNode

from lake_assets.core import settings

log = logging.getLogger("lake_assets.tools.guard")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}
MAX_BODY = 16 * 1024 * 1024
KID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
OIDC_HEADER = "x-amzn-oidc-data"
UNAUTHENTICATED_PATHS = ("/server_info",)  # the load balancer's health check, which signs nobody in


class Refused(Exception):
    """A request the guard does not forward: its HTTP status and one line why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass
class AlbIdentity:
    """Verifies the ALB's `x-amzn-oidc-data` and tells whether its user is an operator."""

    alb_arn: str
    operators_group: str
    key_url: str  # with {region} and {kid}
    leeway_seconds: float = 60.0
    _keys: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _key(self, kid: str) -> ec.EllipticCurvePublicKey:
        with self._lock:
            if kid not in self._keys:
                region = self.alb_arn.split(":")[3]
                url = self.key_url.format(region=region, kid=kid)
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        key = serialization.load_pem_public_key(response.read())
                except (OSError, ValueError) as error:
                    log.warning("guard: the ALB's public key %s cannot be read: %s", kid, error)
                    raise Refused(401, "the sign-in header cannot be verified") from None
                if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
                    raise Refused(401, "the sign-in header's key is not an ES256 key")
                self._keys[kid] = key
            return self._keys[kid]

    def claims(self, token: str | None) -> dict:
        """The verified claims of the header; Refused when it is missing, forged or expired."""
        if not token:
            raise Refused(401, "not signed in through the load balancer")
        try:
            head_b64, body_b64, signature_b64 = token.strip().split(".")
            head, body = json.loads(_b64(head_b64)), json.loads(_b64(body_b64))
            signature = _b64(signature_b64)
        except (ValueError, TypeError):
            raise Refused(401, "the sign-in header is not a JWT") from None
        if not isinstance(head, dict) or not isinstance(body, dict):
            raise Refused(401, "the sign-in header is not a JWT")
        if head.get("alg") != "ES256" or len(signature) != 64:
            raise Refused(401, "the sign-in header is not signed with ES256")
        if head.get("signer") != self.alb_arn:
            raise Refused(401, "the sign-in header was not signed by this load balancer")
        kid = head.get("kid")
        if not isinstance(kid, str) or not KID.match(kid):
            raise Refused(401, "the sign-in header names no valid key")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            self._key(kid).verify(der, f"{head_b64}.{body_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Refused(401, "the sign-in header's signature is wrong") from None
        exp = head.get("exp", body.get("exp"))
        if not isinstance(exp, (int, float)) or exp + self.leeway_seconds < time.time():
            raise Refused(401, "the sign-in has expired: reload the page")
        return body

    def is_operator(self, claims: dict) -> bool:
        """Whether the operators group is among the user's Cognito groups."""
        groups = claims.get("cognito:groups") or []
        return self.operators_group in ([groups] if isinstance(groups, str) else groups)


def _b64(part: str) -> bytes:
    """base64url, with or without the padding the ALB leaves in."""
    part = part.rstrip("=")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class Policy:
    """What the guard admits: the UI's origins, and who is an operator (None: everyone, on loopback)."""

    origins: tuple[str, ...]
    identity: AlbIdentity | None = None

    def check_host(self, host: str | None) -> None:
        """On loopback the Host must be one of the UI's own (a rebound DNS name is refused)."""
        if self.identity is None and f"http://{host}" not in self.origins:
            raise Refused(403, "unknown Host: open the UI at " + self.origins[0])

    def check_origin(self, headers: Message) -> None:
        """A state-changing request must come from the UI's own pages."""
        origin = headers.get("Origin")
        if origin is None and headers.get("Referer"):
            parts = urlsplit(headers["Referer"])
            origin = f"{parts.scheme}://{parts.netloc}"
        if origin is None:
            raise Refused(403, "a state-changing request without Origin or Referer")
        if origin.rstrip("/") not in self.origins:
            raise Refused(403, "a state-changing request from another origin")

    def operator(self, headers: Message) -> bool:
        """Whether the signed-in user (everyone, on loopback) may change state; Refused if not signed in."""
        if self.identity is None:
            return True
        return self.identity.is_operator(self.identity.claims(headers.get(OIDC_HEADER)))


def operation_types(documents: list[str]) -> set[str]:
    """The operation types (query, mutation, subscription) of GraphQL documents; Refused if one cannot be parsed."""
    found = set()
    for document in documents:
        if not isinstance(document, str):
            raise Refused(400, "a GraphQL request without a query")
        try:
            parsed = parse(document)
        except GraphQLError:
            raise Refused(400, "a GraphQL document that cannot be parsed") from None
        found |= {d.operation.value for d in parsed.definitions if isinstance(d, OperationDefinitionNode)}
    return found


def json_documents(body: bytes) -> list[str]:
    """The queries of a GraphQL POST body: one request or a batch of them."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "a GraphQL body that is not JSON") from None
    requests = data if isinstance(data, list) else [data]
    if not requests or not all(isinstance(r, dict) for r in requests):
        raise Refused(400, "a GraphQL body that is not a request or a batch of them")
    return [r.get("query") for r in requests]


def media_type(headers: Message) -> str:
    """The Content-Type's media type alone, lower case (no parameters)."""
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def check(policy: Policy, method: str, target: str, headers: Message, body: bytes) -> bool:
    """Refused unless the request may go on to the webserver; whether it is an operator's (or the health check)."""
    path, _, query = target.partition("?")
    path = re.sub("/+", "/", unquote(path.partition("#")[0]))
    graphql = path.rstrip("/") == "/graphql"
    policy.check_host(headers.get("Host"))
    health = method in SAFE_METHODS and path in UNAUTHENTICATED_PATHS
    operator = health or policy.operator(headers)  # every other request from a signed-in user
    if "websocket" in (headers.get("Upgrade") or "").lower():
        if method != "GET" or not graphql:
            raise Refused(400, "a websocket is opened by GET /graphql only")
        policy.check_origin(headers)  # no other site's page may subscribe with the user's cookie
        return operator
    if method in SAFE_METHODS:
        if graphql and operation_types(parse_qs(query).get("query", [])) - {"query"}:
            raise Refused(405, "GraphQL mutations are accepted by POST only")
        return operator
    policy.check_origin(headers)
    if graphql:
        if media_type(headers) != "application/json":
            raise Refused(415, "GraphQL by POST must be application/json")
        if operation_types(json_documents(body)) <= {"query"}:
            return operator  # reading is open to every signed-in user
    if not operator:
        raise Refused(403, "only operators may change anything: the UI is read-only for you")
    return operator


class GuardHandler(BaseHTTPRequestHandler):
    """Checks each request against the server's policy and forwards it to the webserver."""

    protocol_version = "HTTP/1.1"
    server: GuardServer

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # the webserver logs requests; refusals are logged below

    def _refuse(self, error: Refused) -> None:
        log.warning("guard: refused %s %s: %s", self.command, self.path.partition("?")[0], error)
        body = json.dumps({"errors": [{"message": f"refused by the guard: {error}"}]}).encode()
        self.send_response(error.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise Refused(411, "a request body needs a Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise Refused(400, "a bad Content-Length") from None
        if not 0 <= length <= MAX_BODY:
            raise Refused(413, "a request body too large")
        return self.rfile.read(length)

    def _handle(self) -> None:
        try:
            body = self._body()
            operator = check(self.server.policy, self.command, self.path, self.headers, body)
        except Refused as error:
            self.close_connection = True
            self._refuse(error)
            return
        upstream = self.server.upstream if operator or not self.server.read_only else self.server.read_only
        if "websocket" in (self.headers.get("Upgrade") or "").lower():
            self._tunnel(upstream)
        else:
            self._forward(body, upstream)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

    def _forward(self, body: bytes, address: tuple[str, int]) -> None:
        upstream = http.client.HTTPConnection(*address, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
        except OSError as error:
            log.warning("guard: the webserver did not answer %s: %s", self.path.partition("?")[0], error)
            upstream.close()
            self.close_connection = True
            self._refuse(Refused(502, "the Dagster webserver did not answer"))
            return
        try:
            self.send_response_only(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            if response.getheader("Content-Length") is None and self.command != "HEAD":
                self.send_header("Connection", "close")  # the body ends when the connection does
                self.close_connection = True
            self.end_headers()
            while self.command != "HEAD" and (chunk := response.read1(65536)):
                self.wfile.write(chunk)
        except OSError:
            self.close_connection = True  # either side went away mid-answer
        finally:
            upstream.close()

    def _tunnel(self, address: tuple[str, int]) -> None:
        """Pass a websocket upgrade to the webserver and, once it switched protocols, its frames both
        ways until either side closes. An upgrade it declines ends the connection: nothing after it
        reaches the webserver unchecked."""
        self.close_connection = True
        with socket.create_connection(address, timeout=10) as upstream:
            head = f"{self.command} {self.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
            upstream.sendall(head.encode("latin-1") + b"\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer and len(answer) < 65536 and (data := upstream.recv(65536)):
                answer += data
            self.wfile.write(answer)
            if not answer.startswith(b"HTTP/1.1 101 "):
                return
            upstream.settimeout(None)
            client = self.connection
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 300)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)


class GuardServer(ThreadingHTTPServer):
    """The guard listening on (host, port), forwarding to the webserver on loopback, and the
    requests of signed-in users who are not operators to a `--read-only` one if there is one."""

    daemon_threads = True

    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], policy: Policy,
                 read_only: tuple[str, int] | None = None):
        super().__init__(listen, GuardHandler)
        self.upstream, self.policy, self.read_only = upstream, policy, read_only


def start(server: GuardServer) -> GuardServer:
    """Serve in a background thread; `server.shutdown()` stops it."""
    threading.Thread(target=server.serve_forever, name="guard", daemon=True).start()
    return server


def start_local(port: int, upstream_port: int) -> GuardServer:
    """`lake ui`'s guard on 127.0.0.1:`port` (the local user is the operator) before the webserver on `upstream_port`."""
    origins = (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
    return start(GuardServer(("127.0.0.1", port), ("127.0.0.1", upstream_port), Policy(origins)))


def deployed_policy() -> Policy:
    """The policy behind the ALB, from `LAKE_UI_URL` and the `LAKE_GUARD_*` settings."""
    origin, alb_arn = settings.UI_URL.value(), settings.GUARD_ALB_ARN.value()
    if not origin or not alb_arn:
        raise SystemExit("guard: LAKE_UI_URL and LAKE_GUARD_ALB_ARN are needed behind the load balancer")
    identity = AlbIdentity(alb_arn, settings.GUARD_OPERATORS_GROUP.value(), settings.GUARD_KEY_URL.value())
    return Policy((origin.rstrip("/"),), identity)


def main(argv: list[str] | None = None) -> None:
    """The deployment's guard: listen on `--port` of every interface, forward to the webserver on loopback."""
    parser = argparse.ArgumentParser(prog="python -m lake_assets.tools.guard", description=main.__doc__)
    parser.add_argument("--port", type=int, default=3000, help="where the load balancer sends requests")
    parser.add_argument("--upstream", type=int, default=3001, help="dagster-webserver's port on 127.0.0.1")
    parser.add_argument("--read-only-upstream", type=int,
                        help="the port on 127.0.0.1 of a `dagster-webserver --read-only` for everyone but operators")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    read_only = ("127.0.0.1", args.read_only_upstream) if args.read_only_upstream else None
    server = GuardServer(("0.0.0.0", args.port), ("127.0.0.1", args.upstream), deployed_policy(), read_only)  # noqa: S104
    log.info("guard: on port %d, forwarding to 127.0.0.1:%d", args.port, args.upstream)
    server.serve_forever()


if __name__ == "__main__":
    main()
