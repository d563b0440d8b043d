"""The typed payloads of the queue's actions (dmpcommon.actions): one class per type, one
JSON encoding, and a refusal with its reason for anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmpcommon.actions import (
    PAYLOAD_TYPES,
    ActionType,
    DmpCreated,
    PayloadError,
    decode_payload,
    encode_payload,
)
from tests.support.payloads import JEANNE, SAMPLES


def test_every_action_type_has_one_payload_class_and_a_sample() -> None:
    assert set(PAYLOAD_TYPES) == set(ActionType) == set(SAMPLES)
    for action_type, cls in PAYLOAD_TYPES.items():
        assert cls.action_type is action_type
        assert isinstance(SAMPLES[action_type], cls)


@pytest.mark.parametrize("action_type", list(ActionType))
def test_each_payload_reads_back_as_it_was_built(action_type: ActionType) -> None:
    payload = SAMPLES[action_type]
    data = encode_payload(payload)
    assert decode_payload(action_type, data) == payload
    assert json.loads(data) == json.loads(payload.model_dump_json(exclude_none=True))


def _dmp_created(**changes: object) -> bytes:
    document = json.loads(encode_payload(SAMPLES[ActionType.DMP_CREATED]))
    document.update(changes)
    return json.dumps({k: v for k, v in document.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_dmp_created(surprise=1), "invalid_payload:surprise"),  # a field on one side only
        (_dmp_created(consent="true"), "invalid_payload:consent"),  # no coercion
        (_dmp_created(consent=False), "invalid_payload:consent"),
        (_dmp_created(ins="279035121518988"), "invalid_payload:ins:nir_key"),
        (_dmp_created(ins=None), "invalid_payload:payload:ins_or_identity"),
        (
            _dmp_created(
                identity={"nom": "A", "prenom": "B", "birth_date": "1979-03-28", "nir": JEANNE}
            ),
            "invalid_payload:payload:ins_or_identity",  # both at once
        ),
        (_dmp_created(treating_doctor="10100457828"), "invalid_payload:treating_doctor"),
        (
            _dmp_created(treating_doctor="810100457823"),
            "invalid_payload:treating_doctor:id_nat_key",
        ),
        (
            _dmp_created(treating_doctor="0560123457"),
            "invalid_payload:treating_doctor:id_nat_not_rpps",
        ),
        (
            _dmp_created(authorised_professionals=["322009876500"]),
            "invalid_payload:authorised_professionals.0:id_nat_not_a_health_professional",
        ),
        (
            _dmp_created(contact={"channel": "sms", "address": "0512345678"}),
            "invalid_payload:contact:mobile_invalid",
        ),
        (
            _dmp_created(contact={"channel": "fax", "address": "0612345678"}),
            "invalid_payload:contact.channel",
        ),
        (_dmp_created(access_identifier="ABCDEFGHIL"), "invalid_payload:access_identifier"),
        (_dmp_created(information_version="x" * 33), "invalid_payload:information_version"),
        (b"[]", "invalid_payload:payload"),
        (b"not json", "invalid_payload:payload"),
        (b"", "invalid_payload:payload"),
    ],
)
def test_a_payload_that_does_not_validate_is_refused_with_where_and_why(
    data: bytes, reason: str
) -> None:
    with pytest.raises(PayloadError) as refused:
        decode_payload(ActionType.DMP_CREATED, data)
    assert refused.value.code.startswith(reason), refused.value.code


@pytest.mark.parametrize(
    ("action_type", "data", "reason"),
    [
        ("teleportation", b"{}", "unsupported_action_type"),
        (
            "dmp_opened",
            b'{"ins":"%s","mode":"bris_de_glace"}' % JEANNE.encode(),
            "invalid_payload:payload:reason_required",
        ),
        (
            "dmp_opened",
            b'{"ins":"%s","mode":"normal","reason_code":"AUTRE","reason_text":"abcdef"}'
            % JEANNE.encode(),
            "invalid_payload:payload:reason_only_for_break_glass",
        ),
        (
            "dmp_opened",
            b'{"ins":"%s","mode":"bris_de_glace","reason_code":"AUTRE","reason_text":"abc"}'
            % JEANNE.encode(),
            "invalid_payload:reason_text",
        ),
        ("card_read_refused", b'{"reason":"bank_card"}', "invalid_payload:reason"),
        (
            "identity_to_qualify",
            b'{"nom":"A\\u0000B","prenom":"C","birth_date":"1979-03-28","nir":"%s"}'
            % JEANNE.encode(),
            "invalid_payload:nom",
        ),
        (  # a free text has no pattern: a NUL is refused all the same (no database takes it)
            "dmp_opened",
            b'{"ins":"%s","mode":"bris_de_glace","reason_code":"AUTRE",'
            b'"reason_text":"malaise\\u0000 au comptoir"}' % JEANNE.encode(),
            "invalid_payload:payload:nul_character",
        ),
        (
            "operator_session_opened",
            b'{"issued_at":"2031-05-17T09:30:00","certificate":"MIIB","signature":"MEUC"}',
            "invalid_payload:issued_at:time_without_zone",
        ),
        (
            "operator_session_opened",
            b'{"issued_at":"2031-05-17T09:30:00+00:00","certificate":"%%%%","signature":"MEUC"}',
            "invalid_payload:certificate:not_base64",
        ),
    ],
)
def test_refusals_of_other_types(action_type: str, data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as refused:
        decode_payload(action_type, data)
    assert refused.value.code.startswith(reason), refused.value.code


@given(st.binary(max_size=300))
def test_no_bytes_make_decoding_fail_other_than_with_a_refusal(data: bytes) -> None:
    for action_type in ActionType:
        try:
            decoded = decode_payload(action_type, data)
        except PayloadError as exc:
            assert exc.code.startswith("invalid_payload")
        else:
            assert isinstance(decoded, PAYLOAD_TYPES[action_type])


def test_payloads_are_values() -> None:
    payload = SAMPLES[ActionType.DMP_CREATED]
    assert isinstance(payload, DmpCreated)
    with pytest.raises(ValueError, match="frozen"):
        payload.consent = True  # type: ignore[misc]
