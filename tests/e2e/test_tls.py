"""TLS on the gRPC port (issue 10 item 11): API keys never travel in clear once it is configured.

Each test makes its own CAs and certificates with `cryptography`; nothing is shipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kopilka import KopilkaClient, tls_credentials
from kopilka.v1 import admin_pb2, admin_pb2_grpc

from tests.e2e.test_cli_serve import wait_listening, wait_serving
from tests.ports import idle_port
from tests.processes import serving_processes

BIN = Path(sys.executable).parent


@dataclass
class Issued:
    """A certificate and its key as PEM files."""

    cert: Path
    key: Path


class Ca:
    """A throwaway certificate authority that writes what it issues under `folder`."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
        self.cert = (
            self._builder(subject, subject, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.file = folder / f"{name}-ca.pem"
        self.file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:  # type: ignore[no-untyped-def]
        now = dt.datetime.now(dt.UTC)
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(hours=1))
                .not_valid_after(now + dt.timedelta(days=1)))

    def issue(self, common_name: str, *, server: bool) -> Issued:
        """A leaf: for the server with SANs 127.0.0.1 and localhost, else for a terminal."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (self._builder(subject, self.cert.subject, key.public_key())
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
            ]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        issued = Issued(self.folder / f"{self.name}-{common_name}.pem",
                        self.folder / f"{self.name}-{common_name}.key")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        return issued


@dataclass
class Pki:
    ca: Ca
    server: Issued
    terminal: Issued  # signed by `ca`
    other_ca: Ca
    stranger: Issued  # a terminal certificate signed by `other_ca`


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = Ca(folder, "kopilka"), Ca(folder, "other")
    return Pki(ca, ca.issue("server", server=True), ca.issue("till-1", server=False),
               other, other.issue("till-1", server=False))


@pytest.fixture
def mtls(request: pytest.FixtureRequest) -> bool:
    """Whether the server requires client certificates (parametrize indirectly)."""
    return bool(getattr(request, "param", False))


@pytest.fixture
def settings(settings, pki: Pki, mtls: bool):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={
        "tls_cert_file": pki.server.cert, "tls_key_file": pki.server.key,
        "tls_client_ca_file": pki.ca.file if mtls else None,
    })


async def echo(client: KopilkaClient) -> admin_pb2.EchoResponse:
    return await client.admin.Echo(admin_pb2.EchoRequest(payload=b"ping"), timeout=10)


async def refused(client: KopilkaClient) -> grpc.StatusCode:
    """The code of an Echo that must not get through (the handshake fails)."""
    async with client:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await echo(client)
    return caught.value.code()


async def test_a_tls_server_answers_a_tls_client_with_a_key(app, make_key, pki: Pki) -> None:
    key = await make_key("admin")
    async with KopilkaClient(f"127.0.0.1:{app.grpc_port}", key,
                             root_ca_file=pki.ca.file) as client:
        reply = await echo(client)
        assert reply.payload == b"ping" and reply.principal.startswith("operator:")
        # health checking shares the port, so it is over TLS too
        health = await health_pb2_grpc.HealthStub(client.channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    async with KopilkaClient(f"localhost:{app.grpc_port}", key,
                             root_ca_file=pki.ca.file) as by_name:  # the DNS SAN works too
        assert (await echo(by_name)).payload == b"ping"


async def test_a_plaintext_client_cannot_talk_to_a_tls_server(app, make_key) -> None:
    key = await make_key("admin")
    code = await refused(KopilkaClient(f"127.0.0.1:{app.grpc_port}", key))
    assert code == grpc.StatusCode.UNAVAILABLE


async def test_a_client_does_not_trust_a_server_certificate_of_another_ca(
        app, make_key, pki: Pki) -> None:
    key = await make_key("admin")
    code = await refused(KopilkaClient(f"127.0.0.1:{app.grpc_port}", key,
                                       root_ca_file=pki.other_ca.file))
    assert code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("mtls", [True], indirect=True)
async def test_mtls_admits_only_clients_with_a_certificate_of_the_ca(
        app, make_key, pki: Pki) -> None:
    key = await make_key("admin")
    target = f"127.0.0.1:{app.grpc_port}"
    assert await refused(KopilkaClient(target, key, root_ca_file=pki.ca.file)) == (
        grpc.StatusCode.UNAVAILABLE)
    assert await refused(KopilkaClient(
        target, key, root_ca_file=pki.ca.file, client_cert_file=pki.stranger.cert,
        client_key_file=pki.stranger.key)) == grpc.StatusCode.UNAVAILABLE
    async with KopilkaClient(target, key, root_ca_file=pki.ca.file,
                             client_cert_file=pki.terminal.cert,
                             client_key_file=pki.terminal.key) as till:
        assert (await echo(till)).payload == b"ping"
    # the ready-made credentials route gives the same
    async with KopilkaClient(target, key, credentials=tls_credentials(
            pki.ca.file, pki.terminal.cert, pki.terminal.key)) as till:
        assert (await echo(till)).payload == b"ping"


@pytest.mark.parametrize("mtls", [True], indirect=True)
async def test_the_client_cli_over_mtls(app, make_key, pki: Pki) -> None:
    """`kopilka-client` as a user runs it, TLS files from the environment."""
    key = await make_key("admin")
    env = dict(os.environ, KOPILKA_API_KEY=key, KOPILKA_TARGET=f"127.0.0.1:{app.grpc_port}",
               KOPILKA_TLS_CA_FILE=str(pki.ca.file),
               KOPILKA_TLS_CLIENT_CERT_FILE=str(pki.terminal.cert),
               KOPILKA_TLS_CLIENT_KEY_FILE=str(pki.terminal.key))
    process = await asyncio.create_subprocess_exec(
        str(BIN / "kopilka-client"), "AdminService", "UpsertStore",
        json.dumps({"store": {"code": "kyiv-01", "name": "Kyiv 1"}}),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert json.loads(out)["store"]["code"] == "kyiv-01"
    del env["KOPILKA_TLS_CLIENT_CERT_FILE"], env["KOPILKA_TLS_CLIENT_KEY_FILE"]
    process = await asyncio.create_subprocess_exec(
        str(BIN / "kopilka-client"), "AdminService", "ListStores", "{}",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 1 and err.decode().startswith("UNAVAILABLE"), err.decode()


@pytest.mark.parametrize(("variables", "named"), [
    ({"KOPILKA_TLS_CERT_FILE": "{missing}", "KOPILKA_TLS_KEY_FILE": "{server_key}"},
     "KOPILKA_TLS_CERT_FILE={missing}: cannot read it"),
    ({"KOPILKA_TLS_CERT_FILE": "{server_cert}"}, "KOPILKA_TLS_KEY_FILE is not"),
    ({"KOPILKA_TLS_CERT_FILE": "{server_cert}", "KOPILKA_TLS_KEY_FILE": "{terminal_key}"},
     "are not a usable pair"),
    ({"KOPILKA_TLS_CERT_FILE": "{server_cert}", "KOPILKA_TLS_KEY_FILE": "{server_key}",
      "KOPILKA_TLS_CLIENT_CA_FILE": "{server_key}"}, "KOPILKA_TLS_CLIENT_CA_FILE={server_key}"),
], ids=["missing-cert", "no-key", "key-of-another-cert", "client-ca-not-a-cert"])
def test_bad_tls_files_stop_serve_with_a_clear_message(
        tmp_path: Path, pki: Pki, variables: dict[str, str], named: str) -> None:
    paths = {"missing": str(tmp_path / "nope.pem"), "server_cert": str(pki.server.cert),
             "server_key": str(pki.server.key), "terminal_key": str(pki.terminal.key)}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KOPILKA_TLS") and k != "KOPILKA_DATABASE_URL"}
    env.update({k: v.format(**paths) for k, v in variables.items()},
               KOPILKA_DATA_DIR=str(tmp_path), KOPILKA_GRPC_LISTEN="127.0.0.1:0")
    done = subprocess.run([str(BIN / "kopilka"), "serve"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("kopilka: bad TLS configuration: "), done.stderr
    assert named.format(**paths) in done.stderr and "Traceback" not in done.stderr
    assert "preparing database" not in done.stderr  # it said so before starting anything


def test_serve_with_two_workers_speaks_mtls_on_the_shared_port(tmp_path: Path, pki: Pki) -> None:
    """`kopilka serve --workers 2` from KOPILKA_TLS_* variables: each worker serves mTLS."""
    port = idle_port()  # shared by the workers, so fixed before they start (test_cli_serve)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KOPILKA_TLS") and k != "KOPILKA_DATABASE_URL"}
    env.update(KOPILKA_DATA_DIR=str(tmp_path / "data"), KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN="127.0.0.1:0",
               KOPILKA_TLS_CERT_FILE=str(pki.server.cert), KOPILKA_TLS_KEY_FILE=str(pki.server.key),
               KOPILKA_TLS_CLIENT_CA_FILE=str(pki.ca.file))
    process = subprocess.Popen([str(BIN / "kopilka"), "serve", "--demo-data", "--workers", "2"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    target = f"127.0.0.1:{port}"
    till = tls_credentials(pki.ca.file, pki.terminal.cert, pki.terminal.key)
    channels: list[grpc.Channel] = []
    try:
        wait_serving(target, process, credentials=till)
        workers = wait_listening(port, process)
        answered: set[int] = set()
        while len(answered) < 2 and len(channels) < 40:  # the kernel spreads connections
            channels.append(grpc.secure_channel(
                target, till, options=[("grpc.use_local_subchannel_pool", 1)]))
            reply = admin_pb2_grpc.AdminServiceStub(channels[-1]).Echo(
                admin_pb2.EchoRequest(payload=b"ping"), timeout=10,
                metadata=(("authorization", "Bearer kpk_demo_cashier"),))
            assert reply.principal == "terminal:demo till 1"
            answered = serving_processes(port, workers)
        assert len(answered) == 2, f"{len(channels)} mTLS connections, all to {answered}"
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as caught:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert f"gRPC on {target} (TLS, client certificates required)" in process.communicate()[1]
    finally:
        for channel in channels:
            channel.close()
        if process.poll() is None:
            process.kill()
            process.wait()
