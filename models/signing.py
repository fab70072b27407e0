"""Keyed signatures of model cards: tampering, not only corruption, is refused.

A card's ``card_sha256`` and the file digests it lists catch a damaged
artifact, but anyone who edits a file can recompute them.  With
``TRUECLOUT_MODEL_SIGNING_KEY`` set, every card saved is signed with an
HMAC-SHA256 of its content under that key, and a model loads only when its
signature checks out.  The card lists the sha256 of every file, so signing
the card vouches for every byte of the model.

Without a key nothing is refused (as before signing existed); the model's
``signature_status`` says it is unsigned or its signature unchecked, so the
service can say so.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from trueclout.errors import UserError

SIGNATURE_FIELD = "signature"
ALGORITHM = "hmac-sha256"
KEY_VARIABLE = "TRUECLOUT_MODEL_SIGNING_KEY"
# Fields a signature does not cover: the card's own digest (computed after signing) and itself.
_UNSIGNED_FIELDS = ("card_sha256", SIGNATURE_FIELD)

SignatureStatus = Literal["verified", "unsigned", "signed-unchecked"]
STATUS_NOTES: dict[str, str] = {
    "verified": f"signed, and the signature checked with {KEY_VARIABLE}",
    "unsigned": f"unsigned: {KEY_VARIABLE} is not set, so tampering would go unnoticed",
    "signed-unchecked": f"signed, but not checked: {KEY_VARIABLE} is not set",
}


class SignatureError(UserError):
    """A model refused because a signing key is set and its card is unsigned or signed otherwise."""


def signing_key() -> bytes | None:
    """The configured key, or None when models are neither signed nor checked."""
    from trueclout.settings import get_settings

    secret = get_settings().model_signing_key
    return None if secret is None else secret.get_secret_value().encode()


def _payload(card: Mapping[str, Any]) -> bytes:
    from trueclout.models.artifact import canonical_json

    return canonical_json({k: v for k, v in card.items() if k not in _UNSIGNED_FIELDS})


def signature(card: Mapping[str, Any], key: bytes) -> dict[str, str]:
    """The signature field for ``card`` under ``key``."""
    return {"algorithm": ALGORITHM,
            "value": hmac.new(key, _payload(card), hashlib.sha256).hexdigest()}


def sign(card: dict[str, Any], key: bytes | None) -> None:
    """Sign ``card`` in place with ``key``; without a key any old signature is dropped.

    A card rewritten without the key (a report attached, say) no longer
    matches its old signature, so keeping that signature would only make the
    model look tampered with later.
    """
    if key is None:
        card.pop(SIGNATURE_FIELD, None)
    else:
        card[SIGNATURE_FIELD] = signature(card, key)


def check(card: Mapping[str, Any], card_file: Path, key: bytes | None) -> SignatureStatus:
    """How the card stands; raises ``SignatureError`` when a key is set and it does not match."""
    stored = card.get(SIGNATURE_FIELD)
    if key is None:
        return "unsigned" if stored is None else "signed-unchecked"
    if stored is None:
        raise SignatureError(
            f"{card_file}: the model is not signed and {KEY_VARIABLE} is set, so only models "
            "signed with that key load; sign it with `trueclout models sign` if you trust it")
    if not isinstance(stored, Mapping) or stored.get("algorithm") != ALGORITHM:
        raise SignatureError(f"{card_file}: signature is not {ALGORITHM}; refusing the model")
    expected = signature(card, key)["value"]
    if not hmac.compare_digest(str(stored.get("value", "")), expected):
        raise SignatureError(
            f"{card_file}: signature does not match {KEY_VARIABLE}; the model was changed after "
            "it was signed, or signed with another key (refusing to load it)")
    return "verified"
