"""TLS for the gRPC port: server credentials from the KOPILKA_TLS_* files, checked up front.

Every problem is a `TlsConfigError` naming the setting and what to do, so `kopilka serve`
says it in one line before it starts anything, instead of a traceback or a port that
accepts connections and then fails every handshake.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import grpc

from server.settings import Settings

CERT, KEY, CLIENT_CA = "KOPILKA_TLS_CERT_FILE", "KOPILKA_TLS_KEY_FILE", "KOPILKA_TLS_CLIENT_CA_FILE"


class TlsConfigError(ValueError):
    """The TLS settings cannot be used; the message is meant for the operator."""


def _read(setting: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsConfigError(
            f"{setting}={path}: cannot read it ({exc.strerror or exc}); point {setting} at a "
            "readable PEM file, or unset it") from None


def _no_password() -> bytes:
    """An encrypted key fails here instead of OpenSSL prompting on the terminal."""
    return b""


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials for the gRPC port, or None for plaintext (no certificate configured)."""
    cert_path, key_path, ca_path = (
        settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
    if cert_path is None and key_path is None:
        if ca_path is not None:
            raise TlsConfigError(
                f"{CLIENT_CA} is set but {CERT} and {KEY} are not: client certificates need "
                f"TLS; set {CERT} and {KEY} to the server's certificate and key too")
        return None
    if cert_path is None or key_path is None:
        given, missing = (CERT, KEY) if key_path is None else (KEY, CERT)
        raise TlsConfigError(f"{given} is set but {missing} is not: TLS needs both the "
                             f"certificate and its private key; set {missing} too")
    cert, key = _read(CERT, cert_path), _read(KEY, key_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_path, key_path, password=_no_password)
    except (ssl.SSLError, ValueError) as exc:
        raise TlsConfigError(
            f"{CERT}={cert_path} and {KEY}={key_path} are not a usable pair ({exc}): give a "
            "PEM certificate chain and its unencrypted PEM private key") from None
    client_ca = None
    if ca_path is not None:
        client_ca = _read(CLIENT_CA, ca_path)
        try:
            context.load_verify_locations(cadata=client_ca.decode("ascii"))
        except (ssl.SSLError, ValueError) as exc:
            raise TlsConfigError(
                f"{CLIENT_CA}={ca_path} holds no usable CA certificate ({exc}): give the PEM "
                "certificate(s) of the CA that signs the terminals' certificates") from None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None)


def describe(settings: Settings) -> str:
    """How the port is protected, for the start-up line."""
    if settings.tls_cert_file is None:
        return "plaintext"
    return "TLS, client certificates required" if settings.tls_client_ca_file else "TLS"
