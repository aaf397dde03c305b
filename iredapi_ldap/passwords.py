"""userPassword hashing, verification and password policy, compatible with iRedAdmin."""
# Libraries: hashlib for {SHA*}/{SSHA*}/PLAIN-MD5, `bcrypt` for bcrypt, libpass (the maintained
# passlib fork) for md5/sha256/sha512-crypt and the NT hash; the stdlib `crypt` is deprecated.

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import string
import struct
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass

import bcrypt
from passlib.hash import md5_crypt
from passlib.hash import nthash
from passlib.hash import sha256_crypt
from passlib.hash import sha512_crypt

__all__ = [
    "DEFAULT_SCHEME",
    "SCHEMES",
    "SUPPORTED_PREFIXES",
    "PasswordPolicy",
    "check_password",
    "describe_password_errors",
    "generate_password",
    "hash_password",
    "is_supported_hash",
    "verify_password",
]

DEFAULT_SCHEME = "SSHA512"
SCHEMES: tuple[str, ...] = (
    "SSHA512",
    "SSHA",
    "SHA512",
    "BCRYPT",
    "SHA512-CRYPT",
    "MD5",
    "PLAIN-MD5",
    "PLAIN",
    "CRAM-MD5",
    "NTLM",
)
# Prefixes accepted for caller-supplied hashes (iRedAdmin is_supported_password_scheme + BLF-CRYPT).
SUPPORTED_PREFIXES: frozenset[str] = frozenset(
    {
        "PLAIN",
        "CRYPT",
        "MD5",
        "PLAIN-MD5",
        "SHA",
        "SSHA",
        "SHA512",
        "SSHA512",
        "SHA512-CRYPT",
        "BCRYPT",
        "BLF-CRYPT",
        "CRAM-MD5",
        "NTLM",
    }
)

_SALT_BYTES = 8  # what iRedAdmin and slappasswd use for {SSHA}/{SSHA512}
_BCRYPT_MAX_BYTES = 72  # bcrypt only reads 72 bytes; libxcrypt (slapd) truncates there too

_Checker = Callable[[str], bool]

# ---------------------------------------------------------------- generation


def _salted_digest(algo: str, label: str, pw: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.new(algo, pw.encode() + salt).digest()
    return "{" + label + "}" + base64.b64encode(digest + salt).decode()


def _md5_compress(state: tuple[int, ...], block: bytes) -> tuple[int, ...]:
    # One MD5 compression round; hashlib does not expose intermediate states, CRAM-MD5 needs them.
    x = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | ~d), (7 * i) % 16
        f = (f + a + _MD5_K[i] + x[g]) & 0xFFFFFFFF
        s = _MD5_S[i]
        a, d, c = d, c, b
        b = (b + ((f << s) | (f >> (32 - s)))) & 0xFFFFFFFF
    return tuple((u + v) & 0xFFFFFFFF for u, v in zip(state, (a, b, c, d), strict=True))


_MD5_S = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_MD5_K = [int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]
_MD5_IV = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)


def _cram_md5_context(pw: str) -> bytes:
    # Dovecot's CRAM-MD5: MD5 states after the HMAC opad and ipad blocks, little-endian words.
    key = pw.encode()
    if len(key) > 64:
        key = hashlib.md5(key).digest()
    key = key.ljust(64, b"\0")
    inner = _md5_compress(_MD5_IV, bytes(k ^ 0x36 for k in key))
    outer = _md5_compress(_MD5_IV, bytes(k ^ 0x5C for k in key))
    return struct.pack("<8I", *outer, *inner)


def _bcrypt_bytes(pw: str) -> bytes:
    return pw.encode()[:_BCRYPT_MAX_BYTES]


_GENERATORS: dict[str, Callable[[str], str]] = {
    "SSHA512": lambda pw: _salted_digest("sha512", "SSHA512", pw),
    "SSHA": lambda pw: _salted_digest("sha1", "SSHA", pw),
    "SHA512": lambda pw: (
        "{SHA512}" + base64.b64encode(hashlib.sha512(pw.encode()).digest()).decode()
    ),
    "BCRYPT": lambda pw: "{CRYPT}" + bcrypt.hashpw(_bcrypt_bytes(pw), bcrypt.gensalt()).decode(),
    # rounds=5000 is the crypt(3) default, so passlib omits "rounds=" like doveadm's SHA512-CRYPT.
    "SHA512-CRYPT": lambda pw: "{CRYPT}" + sha512_crypt.using(rounds=5000).hash(pw),
    "MD5": lambda pw: "{CRYPT}" + md5_crypt.hash(pw),
    "PLAIN-MD5": lambda pw: hashlib.md5(pw.encode()).hexdigest(),
    "PLAIN": lambda pw: "{PLAIN}" + pw,
    "CRAM-MD5": lambda pw: "{CRAM-MD5}" + _cram_md5_context(pw).hex(),
    # iRedAdmin stores NTLM without its prefix (HASHES_WITHOUT_PREFIXED_PASSWORD_SCHEME).
    "NTLM": lambda pw: nthash.hash(pw),
}


def hash_password(plain: str, scheme: str = DEFAULT_SCHEME) -> list[str]:
    """Hash `plain` (stripped) with `scheme`, or several `+`-joined schemes, one value each."""
    if not isinstance(plain, str):
        raise TypeError("password must be a str")
    pw = plain.strip()
    if not pw:
        raise ValueError("password is empty")
    if "\0" in pw:  # crypt(3) in slapd would stop at the NUL
        raise ValueError("password contains a NUL character")
    names = list(dict.fromkeys(s.strip().upper() for s in scheme.split("+")))
    unknown = [n for n in names if n not in _GENERATORS]
    if unknown:
        raise ValueError(f"unsupported password scheme: {'+'.join(unknown)}")
    return [_GENERATORS[n](pw) for n in names]


# -------------------------------------------------------------- verification

_PREFIX = re.compile(r"\{([A-Za-z0-9-]+)\}(.*)", re.S)
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_H64 = "[./0-9A-Za-z]"
_CRYPT_FORMATS: dict[str, tuple[re.Pattern[str], Callable[[str, str], bool]]] = {
    "md5": (re.compile(rf"\$1\${_H64}{{0,8}}\${_H64}{{22}}"), md5_crypt.verify),
    "sha256": (
        re.compile(rf"\$5\$(?:rounds=\d{{1,9}}\$)?{_H64}{{0,16}}\${_H64}{{43}}"),
        sha256_crypt.verify,
    ),
    "sha512": (
        re.compile(rf"\$6\$(?:rounds=\d{{1,9}}\$)?{_H64}{{0,16}}\${_H64}{{86}}"),
        sha512_crypt.verify,
    ),
    "bcrypt": (
        re.compile(rf"\$2[aby]\$\d\d\${_H64}{{53}}"),
        lambda pw, h: bcrypt.checkpw(_bcrypt_bytes(pw), h.encode()),
    ),
}
# Which crypt(3) formats each prefix may carry.
_CRYPT_PREFIXES: dict[str, tuple[str, ...]] = {
    "CRYPT": ("md5", "sha256", "sha512", "bcrypt"),
    "MD5-CRYPT": ("md5",),
    "SHA256-CRYPT": ("sha256",),
    "SHA512-CRYPT": ("sha512",),
    "BLF-CRYPT": ("bcrypt",),
    "BCRYPT": ("bcrypt",),
}
# {SHA*} and {SSHA*}: (hashlib name, salted).
_DIGEST_PREFIXES: dict[str, tuple[str, bool]] = {
    "SHA": ("sha1", False),
    "SSHA": ("sha1", True),
    "SHA256": ("sha256", False),
    "SSHA256": ("sha256", True),
    "SHA384": ("sha384", False),
    "SSHA384": ("sha384", True),
    "SHA512": ("sha512", False),
    "SSHA512": ("sha512", True),
}


def _b64decode(body: str) -> bytes | None:
    if not _B64.fullmatch(body) or len(body) % 4:
        return None
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        return None


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _crypt_checker(body: str, kinds: Iterable[str]) -> _Checker | None:
    for kind in kinds:
        pattern, verify = _CRYPT_FORMATS[kind]
        if pattern.fullmatch(body):
            return lambda pw: bool(verify(pw, body))
    return None


def _digest_checker(algo: str, salted: bool, body: str) -> _Checker | None:
    raw = _b64decode(body)
    size = hashlib.new(algo).digest_size
    if raw is None or (len(raw) <= size if salted else len(raw) != size):
        return None
    digest, salt = raw[:size], raw[size:]
    return lambda pw: _same(hashlib.new(algo, pw.encode() + salt).digest(), digest)


def _raw16(body: str) -> bytes | None:
    # Dovecot accepts both hex and base64 for 16-byte digests.
    if _HEX32.fullmatch(body):
        return bytes.fromhex(body)
    raw = _b64decode(body)
    return raw if raw is not None and len(raw) == 16 else None


def _md5(pw: str) -> bytes:
    return hashlib.md5(pw.encode()).digest()


def _nt(pw: str) -> bytes:
    return bytes.fromhex(nthash.hash(pw))


def _fixed_checker(raw: bytes | None, fn: Callable[[str], bytes]) -> _Checker | None:
    return None if raw is None else (lambda pw: _same(fn(pw), raw))


def _prefixed_checker(scheme: str, body: str) -> _Checker | None:
    if scheme in ("PLAIN", "CLEAR", "CLEARTEXT"):
        if not body or any(ord(ch) < 32 or ord(ch) == 127 for ch in body):
            return None
        return lambda pw: _same(pw.encode(), body.encode())
    if scheme in _DIGEST_PREFIXES:
        return _digest_checker(*_DIGEST_PREFIXES[scheme], body)
    if scheme in _CRYPT_PREFIXES:
        return _crypt_checker(body, _CRYPT_PREFIXES[scheme])
    if scheme == "MD5":
        # iRedAdmin/dovecot: md5-crypt; OpenLDAP: base64 of a bare MD5 digest.
        checker = _crypt_checker(body, ("md5",))
        raw = _b64decode(body)
        if checker is None and raw is not None and len(raw) == 16:
            checker = _fixed_checker(raw, _md5)
        return checker
    if scheme == "PLAIN-MD5":
        return _fixed_checker(_raw16(body), _md5)
    if scheme == "NTLM":
        return _fixed_checker(_raw16(body), _nt)
    if scheme == "CRAM-MD5" and _HEX64.fullmatch(body):
        return _fixed_checker(bytes.fromhex(body), _cram_md5_context)
    return None


def _bare_checker(value: str) -> _Checker | None:
    checker = _crypt_checker(value, ("md5",))
    if checker is None and _HEX32.fullmatch(value):
        # Bare 32 hex digits are PLAIN-MD5 or NTLM (both stored unprefixed by iRedAdmin).
        raw = bytes.fromhex(value)
        checker = lambda pw: _same(_md5(pw), raw) | _same(_nt(pw), raw)  # noqa: E731
    return checker


def _checker(value: str) -> _Checker | None:
    match = _PREFIX.fullmatch(value)
    if match is None:
        return _bare_checker(value)
    return _prefixed_checker(match.group(1).upper(), match.group(2))


def verify_password(plain: str, stored: str | bytes) -> bool:
    """Return True when `plain` matches the userPassword value `stored`; never raises."""
    # No stripping here: slapd and dovecot compare the password exactly as typed.
    try:
        if isinstance(stored, bytes):
            stored = stored.decode("utf-8")
        if not isinstance(plain, str) or not isinstance(stored, str) or not plain:
            return False
        checker = _checker(stored)
        return checker is not None and bool(checker(plain))
    except Exception:  # garbage in any library is a mismatch, not an error
        return False


def is_supported_hash(value: str) -> bool:
    """Return True when `value` is a `{SCHEME}`-prefixed hash we accept from API callers."""
    if not isinstance(value, str):
        return False
    match = _PREFIX.fullmatch(value)
    if match is None or match.group(1).upper() not in SUPPORTED_PREFIXES:
        return False
    return _prefixed_checker(match.group(1).upper(), match.group(2)) is not None


# -------------------------------------------------------------------- policy

PW_MISMATCH = "PW_MISMATCH"
PW_EMPTY = "PW_EMPTY"
PW_NON_ASCII = "PW_NON_ASCII"
PW_SHORTER_THAN_MIN_LENGTH = "PW_SHORTER_THAN_MIN_LENGTH"
PW_GREATER_THAN_MAX_LENGTH = "PW_GREATER_THAN_MAX_LENGTH"
PW_NO_LETTER = "PW_NO_LETTER"
PW_NO_UPPERCASE = "PW_NO_UPPERCASE"
PW_NO_DIGIT_NUMBER = "PW_NO_DIGIT_NUMBER"
PW_NO_SPECIAL_CHAR = "PW_NO_SPECIAL_CHAR"

DEFAULT_SPECIAL_CHARS = "#$%&*+-,.:;!=<>'\"?@[]/(){}_`~"
_GEN_DIGITS = "23456789"  # iRedAdmin's alphabets leave out look-alikes 0 1 i l I
_GEN_LOWER = "abcdefghjkmnpqrstuvwxyz"
_GEN_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_MIN_GENERATED = 10


@dataclass
class PasswordPolicy:
    """Password rules, defaults as iRedAdmin's settings.py."""

    min_length: int = 8
    max_length: int = 0  # 0 = unlimited
    require_letter: bool = True
    require_uppercase: bool = True
    require_digit: bool = True
    require_special: bool = True
    special_chars: str = DEFAULT_SPECIAL_CHARS


def check_password(
    plain: str, policy: PasswordPolicy | None = None, *, confirm: str | None = None
) -> list[str]:
    """Return the iRedAdmin PW_* error codes `plain` violates (empty list when acceptable)."""
    policy = policy or PasswordPolicy()
    if confirm is not None and confirm != plain:
        return [PW_MISMATCH]
    # Checked as stored: hash_password strips surrounding whitespace.
    pw = plain.strip() if isinstance(plain, str) else ""
    if not pw:
        return [PW_EMPTY]
    errors = []
    if any(not 32 <= ord(ch) <= 126 for ch in pw):
        errors.append(PW_NON_ASCII)
    if len(pw) < policy.min_length:
        errors.append(PW_SHORTER_THAN_MIN_LENGTH)
    if policy.max_length > 0 and len(pw) > policy.max_length:
        errors.append(PW_GREATER_THAN_MAX_LENGTH)
    chars = set(pw)
    if policy.require_letter and not chars & set(string.ascii_letters):
        errors.append(PW_NO_LETTER)
    if policy.require_uppercase and not chars & set(string.ascii_uppercase):
        errors.append(PW_NO_UPPERCASE)
    if policy.require_digit and not chars & set(string.digits):
        errors.append(PW_NO_DIGIT_NUMBER)
    if policy.require_special and not chars & set(policy.special_chars):
        errors.append(PW_NO_SPECIAL_CHAR)
    return errors


def describe_password_errors(
    codes: Iterable[str] | str, policy: PasswordPolicy | None = None
) -> str:
    """Turn PW_* codes (list or iRedAdmin's comma-joined string) into one English sentence."""
    policy = policy or PasswordPolicy()
    if isinstance(codes, str):
        codes = [c for c in codes.split(",") if c.strip()]
    texts = {
        PW_MISMATCH: "must match its confirmation",
        PW_EMPTY: "must not be empty",
        PW_NON_ASCII: "must contain only printable ASCII characters",
        PW_SHORTER_THAN_MIN_LENGTH: f"must be at least {policy.min_length} characters",
        PW_GREATER_THAN_MAX_LENGTH: f"must be at most {policy.max_length} characters",
        PW_NO_LETTER: "must contain a letter",
        PW_NO_UPPERCASE: "must contain an upper-case letter",
        PW_NO_DIGIT_NUMBER: "must contain a digit",
        PW_NO_SPECIAL_CHAR: f"must contain a special character ({policy.special_chars})",
    }
    parts = [texts.get(code.strip(), code.strip()) for code in codes]
    return "password " + "; ".join(parts) if parts else ""


def generate_password(length: int = _MIN_GENERATED, policy: PasswordPolicy | None = None) -> str:
    """Return a random password of at least 10 characters that satisfies `policy`."""
    policy = policy or PasswordPolicy()
    length = max(length, _MIN_GENERATED, policy.min_length)
    if policy.max_length > 0:
        length = min(length, max(policy.max_length, policy.min_length))
    required = []
    if policy.require_letter:
        required.append(_GEN_LOWER)
    if policy.require_uppercase:
        required.append(_GEN_UPPER)
    if policy.require_digit:
        required.append(_GEN_DIGITS)
    if policy.require_special and policy.special_chars:
        required.append(policy.special_chars)
    chars = [secrets.choice(alphabet) for alphabet in required]
    pool = _GEN_DIGITS + _GEN_LOWER + _GEN_UPPER
    chars += [secrets.choice(pool) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
