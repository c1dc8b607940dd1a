"""A ``redis-server`` that speaks only TLS, with a throwaway CA made by the ``openssl`` CLI at test time.

Debian's redis-server 7.0 is built with TLS: ``--port 0 --tls-port N`` turns the
plain port off. The certificates are valid for ``127.0.0.1`` and ``localhost``
for two days; a second, unrelated CA stands in for a wrong ``ssl_ca_certs``.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from traffik.testing import RedisServer, ServerNotInstalledError

__all__ = ["Certificates", "TlsRedisServer", "make_certificates"]

_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


@dataclass(frozen=True)
class Certificates:
    """Paths of a CA, a server and a client certificate it signed, and an unrelated CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    executable = shutil.which("openssl")
    if executable is None:
        raise ServerNotInstalledError("openssl", "openssl")
    subprocess.run([executable, *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", *_KEY, "-keyout", key.name, "-out", cert.name, "-days", "2",
             "-subj", f"/CN=traffik test {name}", cwd=directory)  # fmt: skip
    return cert, key


def _signed(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    cert, key, request = directory / f"{name}.pem", directory / f"{name}.key", directory / f"{name}.csr"
    (directory / f"{name}.ext").write_text(extensions + "\n")
    _openssl("req", *_KEY, "-keyout", key.name, "-out", request.name, "-subj", f"/CN={name}", cwd=directory)
    _openssl("x509", "-req", "-in", request.name, "-CA", ca[0].name, "-CAkey", ca[1].name, "-CAcreateserial",
             "-out", cert.name, "-days", "2", "-extfile", f"{name}.ext", cwd=directory)  # fmt: skip
    return cert, key


def make_certificates(directory: Path) -> Certificates:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and another CA."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca(directory, "ca")
    server = _signed(directory, "server", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost")
    client = _signed(directory, "client", ca, "extendedKeyUsage=clientAuth")
    other_ca, _ = _ca(directory, "other-ca")
    return Certificates(ca[0], server[0], server[1], client[0], client[1], other_ca)


class TlsRedisServer(RedisServer):
    """``redis-server`` on a TLS-only port; ``require_client_certificates`` turns on mutual TLS."""

    SCHEME: ClassVar[str] = "rediss"

    def __init__(self, certificates: Certificates, *, require_client_certificates: bool = False) -> None:
        super().__init__()
        self.certificates = certificates
        self.require_client_certificates = require_client_certificates

    def command(self, executable: str, port: int, workdir: Path) -> list[str]:
        """The plain server's command with the plain port off and TLS on ``port``."""
        command = super().command(executable, port, workdir)
        at = command.index("--port")
        command[at : at + 2] = ["--port", "0", "--tls-port", str(port)]
        return [
            *command,
            "--tls-cert-file", str(self.certificates.server_cert),
            "--tls-key-file", str(self.certificates.server_key),
            "--tls-ca-cert-file", str(self.certificates.ca),
            "--tls-auth-clients", "yes" if self.require_client_certificates else "no",
        ]  # fmt: skip

    @property
    def ca_url(self) -> str:
        """``rediss://127.0.0.1:PORT/0?ssl_ca_certs=...`` (plus the client certificate under mutual TLS)."""
        url = f"{self.url}/0?ssl_ca_certs={self.certificates.ca}"
        if self.require_client_certificates:
            url += f"&ssl_certfile={self.certificates.client_cert}&ssl_keyfile={self.certificates.client_key}"
        return url

    def probe(self, sock: socket.socket) -> bool:
        """``PING`` over TLS must get ``+PONG``."""
        context = ssl.create_default_context(cafile=str(self.certificates.ca))
        if self.require_client_certificates:
            context.load_cert_chain(str(self.certificates.client_cert), str(self.certificates.client_key))
        try:
            with context.wrap_socket(sock, server_hostname=self.host) as tls:
                tls.sendall(b"PING\r\n")
                return tls.recv(64).startswith(b"+PONG")
        except (ssl.SSLError, OSError):
            return False
