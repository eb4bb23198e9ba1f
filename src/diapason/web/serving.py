"""The HTTP protocol ``diapason serve`` runs under uvicorn: uvicorn's h11 protocol, plus the
ASGI ``tls`` extension, which uvicorn does not fill in.

uvicorn builds each request's scope from its connection but leaves the TLS facts out. This
protocol reads, once per connection and once the handshake is done, the certificate the
client presented (which the TLS layer verified against ``client_ca``): the SSL object of
the transport (``transport.get_extra_info("ssl_object")``). It then adds to the scope of
each request on that connection ``scope["extensions"]["tls"]``, as the ASGI TLS extension
describes it: ``client_cert_chain`` holds the client's certificate in PEM (the leaf only:
Python's ``ssl`` gives no more before 3.13), ``tls_version`` the version's number, the other
keys None. The application reads it with ``authentication.client_certificate(scope)``.
``serve`` names this class to uvicorn by its import string (``http=``), which every worker
process imports.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

# TLS versions as the ASGI TLS extension gives them: the number of the TLS specification.
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI ``tls`` extension of a connection, from its SSL object."""
    der = ssl_object.getpeercert(binary_form=True)
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class ClientCertificateH11(H11Protocol):
    """h11, with the ASGI ``tls`` extension in the scope of every request over TLS."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        tls = tls_extension(ssl_object)
        app = self.app

        async def with_tls(scope: Any, receive: Any, send: Any) -> None:
            extensions = {**(scope.get("extensions") or {}), "tls": tls}
            await app({**scope, "extensions": extensions}, receive, send)

        self.app = with_tls
