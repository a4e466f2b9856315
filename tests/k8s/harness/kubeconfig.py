"""Kubeconfig documents for the harness: client certificate or bearer token, data inlined."""

from __future__ import annotations

import base64
from typing import Any


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_kubeconfig(
    cluster_name: str,
    server: str,
    ca_pem: bytes,
    user: str,
    *,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """A one-context kubeconfig (as a dict) for `user` on `server`, trusting `ca_pem`.

    Give either a client certificate and key or a bearer token; raises ValueError otherwise.
    Every file is inlined, so the kubeconfig can be copied anywhere.
    """
    if token is not None and (client_cert_pem or client_key_pem):
        raise ValueError("give a bearer token or a client certificate, not both")
    if token is None and not (client_cert_pem and client_key_pem):
        raise ValueError("a kubeconfig needs a bearer token or a client certificate and key")
    credentials: dict[str, str] = (
        {"token": token}
        if token is not None
        else {
            "client-certificate-data": _b64(client_cert_pem or b""),
            "client-key-data": _b64(client_key_pem or b""),
        }
    )
    context = f"{user}@{cluster_name}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": user}}],
        "current-context": context,
        "preferences": {},
    }
