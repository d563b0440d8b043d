"""Card images (`fixtures/cards/*.json`, format in CARDS.md).

Loading is lenient on purpose: an image with a bad NIR key, a missing field or a truncated
file must load, so that tests can show the reader refusing it cleanly. Only what the
emulator cannot work without (kind, ATR) is required.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Behaviour", "CardImage", "ImageError", "load_image", "resolve_path"]


class ImageError(ValueError):
    """A card image the emulator cannot use."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Ways a card misbehaves on purpose."""

    t0_wrong_length: bool = False  # answer 6Cxx when Le is not the exact length
    get_response: bool = False  # answer 61xx, data through GET RESPONSE
    mute_after_apdus: int | None = None  # stop answering after N APDUs
    remove_after_apdus: int | None = None  # pulled out when APDU N+1 arrives
    garbage_after_apdus: int | None = None  # meaningless replies after N APDUs
    truncate_tlv: int | None = None  # cut N bytes off the end of the holders/identity file


@dataclass(frozen=True, slots=True)
class CardImage:
    """A parsed card image; `data` keeps the JSON as written, for the card models."""

    path: Path | None
    kind: str
    label: str
    atr: bytes
    behaviour: Behaviour
    data: dict[str, Any] = field(repr=False)


def _optional_int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or value < 0:
        raise ImageError(f"behaviour.{key} must be a whole number")
    return value


def _behaviour(raw: Any) -> Behaviour:
    if raw is None:
        return Behaviour()
    if not isinstance(raw, dict):
        raise ImageError("behaviour must be an object")
    return Behaviour(
        t0_wrong_length=bool(raw.get("t0_wrong_length", False)),
        get_response=bool(raw.get("get_response", False)),
        mute_after_apdus=_optional_int(raw, "mute_after_apdus"),
        remove_after_apdus=_optional_int(raw, "remove_after_apdus"),
        garbage_after_apdus=_optional_int(raw, "garbage_after_apdus"),
        truncate_tlv=_optional_int(raw, "truncate_tlv"),
    )


def parse_image(data: Any, path: Path | None = None) -> CardImage:
    """Build a CardImage from decoded JSON."""
    if not isinstance(data, dict):
        raise ImageError("a card image is a JSON object")
    kind = data.get("kind")
    if not isinstance(kind, str):
        raise ImageError("missing kind")
    try:
        atr = bytes.fromhex(str(data["atr"]))
    except (KeyError, ValueError) as exc:
        raise ImageError("missing or malformed atr") from exc
    if not 2 <= len(atr) <= 33:
        raise ImageError("an ATR has 2 to 33 bytes")
    return CardImage(
        path=path,
        kind=kind,
        label=str(data.get("label", path.stem if path else kind)),
        atr=atr,
        behaviour=_behaviour(data.get("behaviour")),
        data=data,
    )


def load_image(path: str | Path) -> CardImage:
    """Load a card image from a JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ImageError(f"{path} is not JSON: {exc.msg} (line {exc.lineno})") from exc
    return parse_image(data, path)


def resolve_path(image: CardImage, relative: str) -> Path:
    """Resolve a path named in an image: absolute, or relative to the project root (the
    first parent of the image holding it), or to the working directory."""
    candidate = Path(relative)
    if candidate.is_absolute():
        return candidate
    if image.path is not None:
        for parent in image.path.resolve().parents:
            if (parent / candidate).exists():
                return parent / candidate
    return candidate.resolve()
