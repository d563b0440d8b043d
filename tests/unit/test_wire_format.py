"""Envelope encoding, Ed25519 signing and HPKE sealing, with known-answer vectors."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKeyPair

from dmpcommon.envelope import GENESIS_HASH, ActionEnvelope, EnvelopeError, envelope_hash
from dmpcommon.sealing import INFO, Recipient, SealingError, open_sealed, seal
from dmpcommon.signing import SignatureError, public_bytes, sign, verify


def test_ed25519_rfc8032_test_1() -> None:
    key = Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    )
    assert public_bytes(key).hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    signature = sign(key, b"")
    assert signature.hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    verify(public_bytes(key), b"", signature)
    with pytest.raises(SignatureError):
        verify(public_bytes(key), b"\x00", signature)


# RFC 9180 A.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256): recipient and ephemeral keys.
SK_R = bytes.fromhex("4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8")
PK_R = bytes.fromhex("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d")
SK_E = bytes.fromhex("52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736")


def _fixed_sender(aead: AEADId, info: bytes) -> tuple[bytes, Any]:
    """A pyhpke sender context with A.1's ephemeral key instead of a fresh one."""
    suite = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, aead)
    pk_e = (
        x25519.X25519PrivateKey.from_private_bytes(SK_E)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    eks = KEMKeyPair(
        suite.kem.deserialize_private_key(SK_E), suite.kem.deserialize_public_key(pk_e)
    )
    return suite.create_sender_context(suite.kem.deserialize_public_key(PK_R), info=info, eks=eks)


def test_the_hpke_library_gives_rfc9180_a1() -> None:
    """pyhpke, which seals our payloads, reproduces RFC 9180 A.1 (AES-128-GCM, with AAD)."""
    info = bytes.fromhex("4f6465206f6e2061204772656369616e2055726e")
    enc, sender = _fixed_sender(AEADId.AES128_GCM, info)
    assert enc.hex() == "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"
    ciphertext = sender.seal(b"Beauty is truth, truth beauty", aad=b"Count-0")
    assert ciphertext.hex() == (
        "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a"
    )


def test_our_sealing_is_the_suite_with_the_header_as_aad() -> None:
    """A.1's ephemeral key through our suite and INFO opens with open_sealed, header as AAD."""
    header, plaintext = b'{"seq":1}', b'{"nir":"279035121518989"}'
    enc, sender = _fixed_sender(AEADId.AES256_GCM, INFO)
    assert enc.hex() == "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"
    assert open_sealed(SK_R, enc, sender.seal(plaintext, aad=header), header=header) == plaintext


def test_our_sealing_interoperates_with_cryptography_hpke() -> None:
    """cryptography's HPKE (Rust, independent of pyhpke) opens what we seal, both ways.

    It takes no associated data, so the check uses an empty header: KEM, key schedule, info
    and AEAD are the same code path as with a header.
    """
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    plaintext = b'{"nir":"279035121518989"}'
    enc, ciphertext = seal(PK_R, plaintext, header=b"")
    private = x25519.X25519PrivateKey.from_private_bytes(SK_R)
    assert suite.decrypt(enc + ciphertext, private, info=INFO) == plaintext
    sealed = suite.encrypt(plaintext, private.public_key(), info=INFO)
    assert open_sealed(SK_R, sealed[:32], sealed[32:], header=b"") == plaintext
    with pytest.raises(SealingError):  # and the header does count
        open_sealed(SK_R, sealed[:32], sealed[32:], header=b"x")


def test_a_prepared_seal_seals_once() -> None:
    prepared = Recipient(PK_R).prepare()
    enc, ciphertext = prepared.seal(b"one", header=b"h")
    assert open_sealed(SK_R, enc, ciphertext, header=b"h") == b"one"
    with pytest.raises(SealingError):
        prepared.seal(b"two", header=b"h")
    assert Recipient(PK_R).prepare().enc != enc  # a fresh ephemeral key each time


def _x25519() -> tuple[bytes, bytes]:
    private = x25519.X25519PrivateKey.generate()
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return raw_private, raw_public


def test_sealed_payload_is_bound_to_key_and_header() -> None:
    private, public = _x25519()
    other_private, _ = _x25519()
    enc, ciphertext = seal(public, b'{"nir": "..."}', header=b"header-1")
    assert open_sealed(private, enc, ciphertext, header=b"header-1") == b'{"nir": "..."}'
    for attempt in (
        lambda: open_sealed(other_private, enc, ciphertext, header=b"header-1"),
        lambda: open_sealed(private, enc, ciphertext, header=b"header-2"),
        lambda: open_sealed(
            private, enc, ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]), header=b"header-1"
        ),
        lambda: open_sealed(private, enc[:-1], ciphertext, header=b"header-1"),
    ):
        with pytest.raises(SealingError):
            attempt()


def _envelope(**changes: object) -> ActionEnvelope:
    fields: dict[str, object] = {
        "action_id": "01a2145e-ef99-7572-9334-1e09831a1696",
        "kiosk_id": "kiosk-lorient-1",
        "seq": 1,
        "prev_hash": GENESIS_HASH,
        "created_at": "2026-11-25T10:00:00.000000+00:00",
        "action_type": "dmp_created",
        "session_id": "sess-42",
        "enc": b"\x01" * 32,
        "ciphertext": b"\x02" * 40,
    }
    fields.update(changes)
    return ActionEnvelope(**fields)  # type: ignore[arg-type]


def test_envelope_bytes_are_canonical_and_round_trip() -> None:
    envelope = _envelope()
    data = envelope.encode()
    assert data.startswith(b'{"at":"2026-11-25T10:00:00.000000+00:00","ct":"AgIC')
    assert ActionEnvelope.decode(data) == envelope
    assert envelope_hash(data) == envelope_hash(ActionEnvelope.decode(data).encode())
    assert b"enc" not in envelope.header_bytes() and b'"seq":1' in envelope.header_bytes()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"v":1}',
        _envelope().encode().replace(b'"seq":1', b'"seq": 1'),  # not canonical
        _envelope().encode().replace(b'"seq":1', b'"seq":1.0'),
        _envelope().encode().replace(b'"seq":1', b'"seq":0'),
        _envelope().encode().replace(b'"seq":1', b'"seq":true'),
        _envelope().encode().replace(b'"v":1', b'"v":2'),
        _envelope(action_id="not-a-uuid").encode(),
        _envelope(prev_hash="zz").encode(),
        _envelope(created_at="2026-11-25 10:00").encode(),
    ],
)
def test_anything_but_a_canonical_envelope_is_refused(data: bytes) -> None:
    with pytest.raises(EnvelopeError):
        ActionEnvelope.decode(data)


_TEXT = st.text(max_size=12) | st.sampled_from(["kiosk-1", 'a"b', "a\\b", "\x7f", "é", "\n"])


@given(
    st.tuples(_TEXT, _TEXT, _TEXT, _TEXT, _TEXT, _TEXT),
    st.integers(min_value=-2, max_value=2**40) | st.booleans(),
    st.binary(max_size=40),
)
def test_the_fast_encoding_is_canonical_json(
    texts: tuple[str, str, str, str, str, str], seq: int, sealed: bytes
) -> None:
    """Whatever the fields hold, encode() and header_bytes() are json.dumps, sorted keys."""
    at, action_id, kiosk, prev, session, action_type = texts
    envelope = _envelope(
        created_at=at,
        action_id=action_id,
        kiosk_id=kiosk,
        prev_hash=prev,
        session_id=session,
        action_type=action_type,
        seq=seq,
        enc=sealed[:5],
        ciphertext=sealed[5:],
    )

    def canonical(document: dict[str, Any]) -> bytes:
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    header = envelope.header()
    assert envelope.header_bytes() == canonical(header)
    whole = {
        **header,
        "enc": base64.b64encode(sealed[:5]).decode(),
        "ct": base64.b64encode(sealed[5:]).decode(),
    }
    assert envelope.encode() == canonical(whole)


@given(st.binary(max_size=400))
def test_fuzzed_bytes_give_an_envelope_error_only(data: bytes) -> None:
    try:
        ActionEnvelope.decode(data)
    except EnvelopeError:
        pass
