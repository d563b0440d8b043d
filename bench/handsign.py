"""RFC 9421 signature headers written by hand, in the shape our kiosks sign: the load
generators' signer (the library's per-request cost would be the load generator's, on the
cores it shares with the service), and the shape tests/central/test_signature_fast_path.py
checks the service's verifier against the library on."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["signature_headers"]


def signature_headers(
    method: str,
    authority: str,
    target: str,
    body: bytes,
    *,
    key: Ed25519PrivateKey,
    keyid: str,
    nonce: str | None = None,
) -> dict[str, str]:
    """Content-Digest, Signature-Input and Signature (label sig1, no date) of a request to
    `target` (path and query) at `authority`."""
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    params = (
        '("@method" "@authority" "@path" "@query" "content-digest")'
        f';created={int(time.time())};keyid="{keyid}";alg="ed25519"'
        f';nonce="{nonce or secrets.token_urlsafe(16)}"'
    )
    route, _, query = target.partition("?")
    base = (
        f'"@method": {method}\n"@authority": {authority}\n"@path": {route}\n'
        f'"@query": ?{query}\n"content-digest": {digest}\n"@signature-params": {params}'
    )
    signature = base64.b64encode(key.sign(base.encode())).decode()
    return {
        "content-digest": digest,
        "signature-input": f"sig1={params}",
        "signature": f"sig1=:{signature}:",
    }
