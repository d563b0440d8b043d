"""Settings: defaults, then `CENTRAL_HOME/central.toml`, then `CENTRAL_*` variables, then flags."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from central.errors import BadConfiguration
from dmpcommon.identifiers import ACTIVATION_CODE_DAYS

__all__ = ["SECRET_KEY_BYTES", "TEST_OIDS", "ServiceKeys", "Settings", "central_home"]

# INS-NIR test and demo OIDs: fixtures and demos only, refused in production.
TEST_OIDS = frozenset({"1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"})
_ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY_BYTES = 32  # the HMAC key's least length: 256 bits


def _private_folder(path: Path) -> None:
    """Make `path` a folder only its owner can enter (0700), tightening one of ours."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(0o700)


def _create_once(path: Path, data: bytes) -> None:
    """Write a new key file (0600) whole or not at all: a worker starting alongside reads
    either nothing or the full key, never a half-written one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError:
        pass  # another worker made it first: theirs is the key
    finally:
        os.unlink(draft)


def _private_file(path: Path) -> None:
    """Tighten a key file of ours to 0600 (one copied in with the umask's mode, say)."""
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(0o600)


def central_home() -> Path:
    """The data folder: CENTRAL_HOME, or the platform's user data folder."""
    return Path(os.environ.get("CENTRAL_HOME") or user_data_dir("dmp-central"))


@dataclass(frozen=True, slots=True)
class ServiceKeys:
    """The service's keys, read once at start-up (never per request)."""

    secret: bytes  # HMAC key for stored codes and tokens, CSRF
    sealing_private: bytes  # X25519: opens the kiosks' sealed payloads
    sealing_public: bytes  # given to kiosks at enrolment


class Settings(BaseSettings):
    """Everything the central service can be told."""

    model_config = SettingsConfigDict(env_prefix="CENTRAL_", extra="ignore")

    home: Path = Field(default_factory=central_home)
    db: str | None = None  # SQLAlchemy URL; default: SQLite in `home`
    identities: Path = _ROOT / "fixtures" / "identities.json"
    structures: Path = _ROOT / "fixtures" / "structures.json"
    professional_ca: Path = _ROOT / "fixtures" / "pki" / "ca.pem"
    production: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    smtp_url: str | None = None  # smtp://host:port
    mail_from: str = "ne-pas-repondre@dmp.test"
    sms_url: str | None = None  # the SMS gateway's POST endpoint
    portal_url: str = "http://127.0.0.1:8080/patient"
    session_minutes: int = 12 * 60
    attestation_skew_s: int = 300
    offline_window_days: int = 7  # a queued action older than this is refused
    clock_skew_s: int = 120  # how far a kiosk's clock may run ahead of the service's
    patient_session_minutes: int = 30
    otp_ttl_s: int = 300
    otp_max_tries: int = 5
    otp_resend_interval_s: int = 60
    otp_max_per_hour: int = 5
    activation_days: int = ACTIVATION_CODE_DAYS  # what the kiosk's sheet prints
    document_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # The patient's doors (code asked, code typed, activation, online creation): tries per
    # source address and overall (README, "Patient access throttles").
    patient_source_per_minute: int = 60
    patient_source_per_hour: int = 600
    patient_overall_per_minute: int = 600
    patient_overall_per_hour: int = 10_000
    # Wrong provisional codes per access sheet before it is locked for a while (never for
    # good: a new code printed at the counter lifts it), and the most in a day.
    activation_lock_tries: int = 5
    activation_lock_minutes: int = 15
    activation_max_per_day: int = 20
    secret_key_file: Path | None = None  # HMAC key for codes; default: `home`/secret.key
    audit_key_file: Path | None = None  # HMAC key of the audit chain; default: `home`/audit.key

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init) win over variables, which win over the TOML file."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=central_home() / "central.toml")
        return (init_settings, env_settings, toml)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL to use."""
        return self.db or f"sqlite:///{self.home / 'central.db'}"

    def private_home(self) -> Path:
        """The data folder, made (or tightened to) 0700: it holds the keys and the database."""
        _private_folder(self.home)
        return self.home

    def secret_key(self) -> bytes:
        """The service's HMAC key, created (mode 0600) on first use; an empty or short one is
        refused: every stored code, token and the CSRF tokens would be guessable."""
        import secrets

        path = self.secret_key_file or self.private_home() / "secret.key"
        if not path.exists():
            _create_once(path, secrets.token_bytes(SECRET_KEY_BYTES))
        _private_file(path)
        key = path.read_bytes()
        if len(key) < SECRET_KEY_BYTES:
            raise BadConfiguration(
                f"clé secrète {path} {'vide' if not key else f'trop courte ({len(key)} octets)'}"
                f" : il en faut {SECRET_KEY_BYTES} octets au moins ; remettez la clé sauvegardée "
                f"(sur une installation neuve, supprimez ce fichier : le service en crée une)"
            )
        return key

    def sealing_key(self) -> tuple[bytes, bytes]:
        """The X25519 key kiosks seal payloads to: (raw private, raw public), created (0600)
        on first use."""
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
            PublicFormat,
        )

        path = self.private_home() / "sealing.key"
        if not path.exists():
            raw = X25519PrivateKey.generate().private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            )
            _create_once(path, raw)
        _private_file(path)
        private = path.read_bytes()
        if len(private) != 32:  # X25519: exactly 32 bytes
            raise BadConfiguration(
                f"clé de scellement {path} illisible ({len(private)} octets au lieu de 32) : "
                f"remettez la clé sauvegardée, sans quoi les kiosques ne peuvent plus envoyer"
            )
        public = (
            X25519PrivateKey.from_private_bytes(private)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return private, public

    def audit_key_path(self) -> Path:
        """Where the audit chain's key is: outside the database, to be backed up apart."""
        return self.audit_key_file or self.home / "audit.key"

    def audit_key(self, *, create: bool = True) -> bytes:
        """The audit chain's HMAC key, created (0600) on first use when `create`; missing
        (not `create`), empty or short is refused: nobody could check the chain."""
        import secrets

        path = self.audit_key_path()
        if not path.exists():
            if not create:
                raise BadConfiguration(
                    f"clé d'audit introuvable : {path} ; remettez la clé sauvegardée ou "
                    f"indiquez son chemin (CENTRAL_AUDIT_KEY_FILE)"
                )
            if self.audit_key_file is None:
                self.private_home()
            _create_once(path, secrets.token_bytes(SECRET_KEY_BYTES))
        _private_file(path)
        key = path.read_bytes()
        if len(key) < SECRET_KEY_BYTES:
            raise BadConfiguration(
                f"clé d'audit {path} {'vide' if not key else f'trop courte ({len(key)} octets)'}"
                f" : il en faut {SECRET_KEY_BYTES} octets au moins ; remettez la clé sauvegardée"
            )
        return key

    def keys(self) -> ServiceKeys:
        """Every key, read (or created) now."""
        private, public = self.sealing_key()
        return ServiceKeys(secret=self.secret_key(), sealing_private=private, sealing_public=public)

    def overridden(self, **values: Any) -> Settings:
        """A copy with some values replaced (None values are ignored)."""
        return self.model_copy(update={k: v for k, v in values.items() if v is not None})
