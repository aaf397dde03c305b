"""Tests for iredapi_ldap.passwords."""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import re
import shutil
import struct
import subprocess

import pytest

from iredapi_ldap import passwords as pw_mod
from iredapi_ldap.passwords import DEFAULT_SCHEME
from iredapi_ldap.passwords import SCHEMES
from iredapi_ldap.passwords import PasswordPolicy
from iredapi_ldap.passwords import check_password
from iredapi_ldap.passwords import describe_password_errors
from iredapi_ldap.passwords import generate_password
from iredapi_ldap.passwords import hash_password
from iredapi_ldap.passwords import is_supported_hash
from iredapi_ldap.passwords import verify_password

PW = "Secret#123"

FORMATS = {
    "SSHA512": r"\{SSHA512\}[A-Za-z0-9+/]{96}",
    "SSHA": r"\{SSHA\}[A-Za-z0-9+/]{38}==",
    "SHA512": r"\{SHA512\}[A-Za-z0-9+/]{86}==",
    "BCRYPT": r"\{CRYPT\}\$2b\$12\$[./A-Za-z0-9]{53}",
    "SHA512-CRYPT": r"\{CRYPT\}\$6\$[./A-Za-z0-9]{16}\$[./A-Za-z0-9]{86}",
    "MD5": r"\{CRYPT\}\$1\$[./A-Za-z0-9]{8}\$[./A-Za-z0-9]{22}",
    "PLAIN-MD5": r"[0-9a-f]{32}",
    "PLAIN": r"\{PLAIN\}Secret#123",
    "CRAM-MD5": r"\{CRAM-MD5\}[0-9a-f]{64}",
    "NTLM": r"[0-9a-f]{32}",
}
UNPREFIXED = {"PLAIN-MD5", "NTLM"}
SALTED = {"SSHA512", "SSHA", "BCRYPT", "SHA512-CRYPT", "MD5"}

# (password, stored value) produced by other tools: slappasswd (OpenLDAP 2.5), doveadm pw
# (Dovecot 2.3), or well-known published values.
VECTORS = [
    ("secret", "{SSHA}qcxxkXhYfTZpzEkJV+yH3+B2TPXNfJNu"),
    (
        "secret",
        "{SSHA512}tTUpzU7n4xvKhZcGQbmO6+S4b+MM+O5jrwCtDmP+hnGpjprDCx87iHmhDt7lXEpk5Hp1QPQ"
        "tp82KDrEcznebeSUZj4HnKHg9",
    ),
    ("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="),
    ("secret", "{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ=="),
    (
        "secret",
        "{CRYPT}$6$A1uwy2btv3SjtVQS$B8eWFcj/fTfjT6OWlO4wbyuHqjheK4RJVSMHuSGbSWBrOCLuCuen4bIpJ7"
        "NQW63lB5BKX/i4pxsorGllpQMws0",
    ),
    ("secret", "{CRYPT}$2b$05$51QmkTukCQwG.xUqsdTEO.WvAAn1z28442v/wjXUGo9eUJxLXUGuq"),
    ("secret", "{CRYPT}$5$Cex7gTIICtve.QlO$jQq8h.pRI22nEEfNtkazZ8WD.pnoSS0LaCa9R6HdrM7"),
    ("secret", "{CRYPT}$1$3rRVs/6U$N/hVFcRY8m.ZjKWoTewW2/"),
    ("secret", "$1$3rRVs/6U$N/hVFcRY8m.ZjKWoTewW2/"),
    (
        "password",
        "{SHA512-CRYPT}$6$EcGKrYVijieG2GpO$AX4BxpLDoMiduZJwvNe5sHPJ6hsmEmNl4vvalcyGOe/2e13h6"
        ".Pa5.TiHw3a12rLX6X8ndIADrghgdxctHbhg1",
    ),
    ("password", "{SHA256-CRYPT}$5$KJpZ1KmzxjklZE3v$xjIwpGNFyAKAag3nRMsoxF12Zq0NxAgNV8nIrsOYDh1"),
    ("password", "{MD5}$1$2.nVIjd/$xuXeYP6/GesEIKiwiB6E8."),
    ("password", "{BLF-CRYPT}$2y$05$R8PbMaD9TjkEc26VEquAI.yeEyMTo3mqw6jw4YjD9fzkQoUs9yBji"),
    (
        "password",
        "{SHA512}sQnzu7wkTrgkQZF+0G1hi5AI3Qmzvv0bXgc5THBqi7mAsdd4Xll27ASbRt9fEyavWi6m0QP9B8lT"
        "hf+rDKy8hg==",
    ),
    ("password", "{SSHA}E5Z1DYyh/bq7f5t5mW5Rzv3Bd/tcPpGM"),
    ("password", "{SSHA256}rUIiXCIP9fBnyFNJaSGxq8AjnNX2OmhDntIgowd3B+Sezjpq"),
    ("password", "{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99"),
    ("password", "5f4dcc3b5aa765d61d8327deb882cf99"),
    ("password", "{NTLM}8846f7eaee8fb117ad06bdd830b7586c"),
    ("password", "8846F7EAEE8FB117AD06BDD830B7586C"),
    ("password", "{CRAM-MD5}9186d855e11eba527a7a52ca82b313e180d62234f0acc9051b527243d41e2740"),
    ("Secret#123", "{CRAM-MD5}ebc606fbc6bdc1e099fa728c2f274a6a9d2383f91113efd543500a5674dc6d2e"),
    ("ünïcødé", "{CRAM-MD5}47f96b98ef4f45075c66e0c6ad5553cac72da4206c9d218ac39cf8320889ebb0"),
    ("x" * 70, "{CRAM-MD5}8103bb3a2a4b96a9ca9cce4efecc8d22ebe7163dff7401afb5aa16d4edcf9f1f"),
    ("k" * 64, "{CRAM-MD5}a37fc5ccd7282dcfcc0db6932f86e2ba9aaa6aae7644eed9ee08da64bb1c1ab2"),
    ("k" * 100, "{CRAM-MD5}3ae21d35bcb420cc10d678a30813dfaff1c856d356b2c5f8429dc6087392415f"),
    ("pass word", "{PLAIN}pass word"),
]


def _vary_prefix_case(value: str) -> list[str]:
    m = re.match(r"(\{[^}]+\})(.*)", value, re.S)
    if not m:
        return []
    prefix, body = m.groups()
    return [prefix.lower() + body, prefix.swapcase() + body]


# ------------------------------------------------------------------ hashing


def test_schemes_and_default() -> None:
    assert DEFAULT_SCHEME == "SSHA512"
    assert set(SCHEMES) == set(FORMATS)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_round_trip(scheme: str) -> None:
    values = hash_password(PW, scheme)
    assert len(values) == 1
    value = values[0]
    assert re.fullmatch(FORMATS[scheme], value), value
    assert verify_password(PW, value)
    assert verify_password(PW, value.encode())
    assert not verify_password("Secret#124", value)
    assert not verify_password(PW.lower(), value)
    assert is_supported_hash(value) is (scheme not in UNPREFIXED)


@pytest.mark.parametrize("scheme", sorted(SALTED))
def test_salted_schemes_use_fresh_salt(scheme: str) -> None:
    assert hash_password(PW, scheme) != hash_password(PW, scheme)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_surrounding_whitespace_is_stripped(scheme: str) -> None:
    (value,) = hash_password(" \t Secret#123 \n", scheme)
    assert verify_password("Secret#123", value)
    assert not verify_password(" \t Secret#123 \n", value)  # verify compares as typed


@pytest.mark.parametrize("scheme", SCHEMES)
def test_unicode_round_trip(scheme: str) -> None:
    (value,) = hash_password("Pässwörd€1", scheme)
    assert verify_password("Pässwörd€1", value)
    assert not verify_password("Passwords1", value)


def test_scheme_name_is_case_insensitive() -> None:
    assert hash_password(PW, "ssha512")[0].startswith("{SSHA512}")


@pytest.mark.parametrize(
    "combo, prefixes",
    [
        ("SSHA+NTLM", ["{SSHA}", ""]),
        ("SSHA512+BCRYPT+PLAIN-MD5", ["{SSHA512}", "{CRYPT}$2b$", ""]),
        ("SHA512-CRYPT+CRAM-MD5", ["{CRYPT}$6$", "{CRAM-MD5}"]),
        ("SSHA+SSHA", ["{SSHA}"]),
    ],
)
def test_plus_combinations(combo: str, prefixes: list[str]) -> None:
    values = hash_password(PW, combo)
    assert len(values) == len(prefixes)
    for value, prefix in zip(values, prefixes, strict=True):
        assert value.startswith(prefix)
        assert verify_password(PW, value)


@pytest.mark.parametrize("scheme", ["", "SSHA256", "BLF-CRYPT", "SSHA+", "SSHA+FOO", "CRYPT"])
def test_unknown_scheme_rejected(scheme: str) -> None:
    with pytest.raises(ValueError):
        hash_password(PW, scheme)


@pytest.mark.parametrize("plain", ["", "   ", "\t\n", "a\0b"])
def test_unusable_password_rejected(plain: str) -> None:
    with pytest.raises(ValueError):
        hash_password(plain)


def test_non_str_password_rejected() -> None:
    with pytest.raises(TypeError):
        hash_password(b"secret")  # type: ignore[arg-type]


# ------------------------------------------------------------- known values


def test_manual_ssha_with_fixed_salt() -> None:
    salt = b"\x01\x02\x03\x04saLT"
    value = "{SSHA}" + base64.b64encode(hashlib.sha1(b"secret" + salt).digest() + salt).decode()
    assert verify_password("secret", value)
    assert not verify_password("Secret", value)


def test_manual_ssha512_and_sha512() -> None:
    salt = b"12345678"
    ssha512 = (
        "{SSHA512}" + base64.b64encode(hashlib.sha512(b"secret" + salt).digest() + salt).decode()
    )
    sha512 = "{SHA512}" + base64.b64encode(hashlib.sha512(b"secret").digest()).decode()
    assert verify_password("secret", ssha512)
    assert verify_password("secret", sha512)
    assert not verify_password("secreT", ssha512)


def test_generated_ssha512_matches_manual_computation() -> None:
    (value,) = hash_password(PW, "SSHA512")
    raw = base64.b64decode(value[len("{SSHA512}") :])
    digest, salt = raw[:64], raw[64:]
    assert len(salt) == 8
    assert digest == hashlib.sha512(PW.encode() + salt).digest()


def test_generated_ssha_matches_manual_computation() -> None:
    (value,) = hash_password(PW, "SSHA")
    raw = base64.b64decode(value[len("{SSHA}") :])
    assert raw[:20] == hashlib.sha1(PW.encode() + raw[20:]).digest()
    assert len(raw) == 28


def test_plain_md5_and_ntlm_known_values() -> None:
    assert hash_password("password", "PLAIN-MD5") == ["5f4dcc3b5aa765d61d8327deb882cf99"]
    assert hash_password("password", "NTLM") == ["8846f7eaee8fb117ad06bdd830b7586c"]
    assert hash_password("password", "CRAM-MD5") == [
        "{CRAM-MD5}9186d855e11eba527a7a52ca82b313e180d62234f0acc9051b527243d41e2740"
    ]


@pytest.mark.parametrize("plain, stored", VECTORS)
def test_foreign_vectors_verify(plain: str, stored: str) -> None:
    assert verify_password(plain, stored)
    assert not verify_password(plain + "x", stored)
    for variant in _vary_prefix_case(stored):
        assert verify_password(plain, variant), variant


def test_md5_compress_matches_hashlib() -> None:
    for msg in (b"", b"abc", b"x" * 55, b"y" * 64, bytes(range(200))):
        padded = msg + b"\x80" + b"\0" * ((55 - len(msg)) % 64) + struct.pack("<Q", len(msg) * 8)
        state = pw_mod._MD5_IV
        for i in range(0, len(padded), 64):
            state = pw_mod._md5_compress(state, padded[i : i + 64])
        assert struct.pack("<4I", *state) == hashlib.md5(msg).digest()


def test_cram_md5_context_reproduces_hmac_md5() -> None:
    # The stored context must let a server finish HMAC-MD5(password, challenge) without the password.
    (value,) = hash_password(PW, "CRAM-MD5")
    words = struct.unpack("<8I", bytes.fromhex(value[len("{CRAM-MD5}") :]))
    outer, inner = words[:4], words[4:]
    challenge = b"<1896.697170952@postoffice.example.net>"

    def finish(state: tuple[int, ...], data: bytes) -> bytes:
        total = 64 + len(data)
        padded = data + b"\x80" + b"\0" * ((55 - total) % 64) + struct.pack("<Q", total * 8)
        for i in range(0, len(padded), 64):
            state = pw_mod._md5_compress(state, padded[i : i + 64])
        return struct.pack("<4I", *state)

    assert (
        finish(outer, finish(inner, challenge)) == hmac.new(PW.encode(), challenge, "md5").digest()
    )


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "stored",
    [
        None,
        123,
        b"\xff\xfe\xfd",
        "",
        "{",
        "}",
        "{}",
        "{}secret",
        "{SSHA}",
        "{SSHA}!!!!",
        "{SSHA}" + base64.b64encode(b"0123456789").decode(),
        "{SHA}" + base64.b64encode(b"0" * 21).decode(),
        "{SSHA512}" + base64.b64encode(b"0" * 64).decode(),
        "{SHA512}abc",
        "{SSHA512}====",
        "{CRYPT}",
        "{CRYPT}$6$bad",
        "{CRYPT}$6$salt$short",
        "{CRYPT}$2b$04$short",
        "{CRYPT}$2x$05$51QmkTukCQwG.xUqsdTEO.WvAAn1z28442v/wjXUGo9eUJxLXUGuq",
        "{CRYPT}abJnggxhB/yWI",
        "{BLF-CRYPT}$6$x$y",
        "{SHA512-CRYPT}$1$3rRVs/6U$N/hVFcRY8m.ZjKWoTewW2/",
        "{CRAM-MD5}" + "z" * 64,
        "{CRAM-MD5}abcd",
        "{NTLM}xyz",
        "{PLAIN-MD5}123",
        "{UNKNOWN}secret",
        "{PLAIN}",
        "secret",
        "$1$",
        "$6$A1uwy2btv3SjtVQS$B8eWFcj",
        "5f4dcc3b5aa765d61d8327deb882cf9",
        "\0",
        "{SSHA}\udcff",
        "ñ" * 5000,
        "{PLAIN}secret\n",
    ],
)
def test_garbage_never_verifies(stored: object) -> None:
    assert verify_password("secret", stored) is False  # type: ignore[arg-type]
    assert is_supported_hash(stored) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("plain", [None, 1, b"secret", "", "\udcff"])
def test_bad_plain_is_false(plain: object) -> None:
    assert verify_password(plain, "{PLAIN}secret") is False  # type: ignore[arg-type]


def test_hash_is_not_a_password() -> None:
    # iRedAdmin accepts stored == plain; passing a stolen unprefixed hash must not log in.
    for stored in ("5f4dcc3b5aa765d61d8327deb882cf99", "$1$3rRVs/6U$N/hVFcRY8m.ZjKWoTewW2/"):
        assert not verify_password(stored, stored)


def test_bcrypt_truncates_at_72_bytes_like_libxcrypt() -> None:
    long_pw = "A1#" + "x" * 80
    (value,) = hash_password(long_pw, "BCRYPT")
    assert verify_password(long_pw, value)
    assert verify_password(long_pw[:72], value)
    assert not verify_password(long_pw[:71], value)


# ------------------------------------------------------- is_supported_hash


@pytest.mark.parametrize(
    "value",
    [
        "{PLAIN}secret",
        "{plain}secret",
        "{CRYPT}$1$3rRVs/6U$N/hVFcRY8m.ZjKWoTewW2/",
        "{crypt}$2a$05$51QmkTukCQwG.xUqsdTEO.WvAAn1z28442v/wjXUGo9eUJxLXUGuq",
        "{CRYPT}$5$Cex7gTIICtve.QlO$jQq8h.pRI22nEEfNtkazZ8WD.pnoSS0LaCa9R6HdrM7",
        "{CRYPT}$6$rounds=656000$KkWr.r0PWuwZDC28$hQVbTFdwl.nZor/Q/YuwFjPwQvA7MPjl0FqKzYw9WIHmRsVJlanXGfQV"
        "vj2NIsYJq8zd0Ro9qqctlf4x8Lk5b.",
        "{MD5}$1$2.nVIjd/$xuXeYP6/GesEIKiwiB6E8.",
        "{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==",
        "{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99",
        "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",
        "{SSHA}qcxxkXhYfTZpzEkJV+yH3+B2TPXNfJNu",
        "{sha512}" + base64.b64encode(b"1" * 64).decode(),
        "{SSHA512}" + base64.b64encode(b"1" * 72).decode(),
        "{SHA512-CRYPT}$6$EcGKrYVijieG2GpO$AX4BxpLDoMiduZJwvNe5sHPJ6hsmEmNl4vvalcyGOe/2e13h6.Pa5.TiHw3a12rL"
        "X6X8ndIADrghgdxctHbhg1",
        "{BCRYPT}$2b$05$51QmkTukCQwG.xUqsdTEO.WvAAn1z28442v/wjXUGo9eUJxLXUGuq",
        "{Blf-Crypt}$2y$05$R8PbMaD9TjkEc26VEquAI.yeEyMTo3mqw6jw4YjD9fzkQoUs9yBji",
        "{CRAM-MD5}9186d855e11eba527a7a52ca82b313e180d62234f0acc9051b527243d41e2740",
        "{NTLM}8846f7eaee8fb117ad06bdd830b7586c",
    ],
)
def test_is_supported_hash_true(value: str) -> None:
    assert is_supported_hash(value)


@pytest.mark.parametrize(
    "value",
    [
        "5f4dcc3b5aa765d61d8327deb882cf99",
        "$1$3rRVs/6U$N/hVFcRY8m.ZjKWoTewW2/",
        "secret",
        "{SSHA256}rUIiXCIP9fBnyFNJaSGxq8AjnNX2OmhDntIgowd3B+Sezjpq",
        "{SHA256-CRYPT}$5$KJpZ1KmzxjklZE3v$xjIwpGNFyAKAag3nRMsoxF12Zq0NxAgNV8nIrsOYDh1",
        "{CRYPT}secret",
        "{SSHA512}secret",
        "{NTLM}",
        "{SMD5}IrCtnVeTyhaGEAo2BUom+x+j/Cs=",
        " {SSHA}qcxxkXhYfTZpzEkJV+yH3+B2TPXNfJNu",
        "{SSHA}qcxxkXhYfTZpzEkJV+yH3+B2TPXNfJNu ",
    ],
)
def test_is_supported_hash_false(value: str) -> None:
    assert not is_supported_hash(value)


# ------------------------------------------------------------------ policy


@pytest.mark.parametrize(
    "plain, policy, codes",
    [
        ("Secret#123", PasswordPolicy(), []),
        ("", PasswordPolicy(), ["PW_EMPTY"]),
        ("   ", PasswordPolicy(), ["PW_EMPTY"]),
        ("Sécret#123", PasswordPolicy(), ["PW_NON_ASCII"]),
        ("Secret#1\t23", PasswordPolicy(), ["PW_NON_ASCII"]),
        ("Se#1", PasswordPolicy(), ["PW_SHORTER_THAN_MIN_LENGTH"]),
        ("  Se#1234  ", PasswordPolicy(min_length=9), ["PW_SHORTER_THAN_MIN_LENGTH"]),
        ("Secret#123", PasswordPolicy(max_length=9), ["PW_GREATER_THAN_MAX_LENGTH"]),
        ("Secret#123", PasswordPolicy(max_length=10), []),
        ("Secret#123" * 50, PasswordPolicy(max_length=0), []),
        ("12345678#", PasswordPolicy(), ["PW_NO_LETTER", "PW_NO_UPPERCASE"]),
        ("secret#123", PasswordPolicy(), ["PW_NO_UPPERCASE"]),
        ("Secret#abc", PasswordPolicy(), ["PW_NO_DIGIT_NUMBER"]),
        ("Secret 123", PasswordPolicy(), ["PW_NO_SPECIAL_CHAR"]),
        ("Secret^123", PasswordPolicy(special_chars="#"), ["PW_NO_SPECIAL_CHAR"]),
        ("Secret^123", PasswordPolicy(special_chars="^"), []),
        (
            "abc",
            PasswordPolicy(),
            [
                "PW_SHORTER_THAN_MIN_LENGTH",
                "PW_NO_UPPERCASE",
                "PW_NO_DIGIT_NUMBER",
                "PW_NO_SPECIAL_CHAR",
            ],
        ),
        (
            "abc",
            PasswordPolicy(
                min_length=1,
                require_letter=False,
                require_uppercase=False,
                require_digit=False,
                require_special=False,
            ),
            [],
        ),
        (
            "ü",
            PasswordPolicy(),
            [
                "PW_NON_ASCII",
                "PW_SHORTER_THAN_MIN_LENGTH",
                "PW_NO_LETTER",
                "PW_NO_UPPERCASE",
                "PW_NO_DIGIT_NUMBER",
                "PW_NO_SPECIAL_CHAR",
            ],
        ),
    ],
)
def test_check_password(plain: str, policy: PasswordPolicy, codes: list[str]) -> None:
    assert check_password(plain, policy) == codes


@pytest.mark.parametrize("char", list(PasswordPolicy().special_chars))
def test_every_default_special_char_counts(char: str) -> None:
    assert check_password(f"Secret1{char}x") == []


def test_check_password_confirmation() -> None:
    assert check_password("Secret#123", confirm="Secret#124") == ["PW_MISMATCH"]
    assert check_password("Secret#123", confirm="Secret#123") == []


def test_describe_password_errors() -> None:
    policy = PasswordPolicy(min_length=8)
    codes = ["PW_SHORTER_THAN_MIN_LENGTH", "PW_NO_UPPERCASE"]
    expected = "password must be at least 8 characters; must contain an upper-case letter"
    assert describe_password_errors(codes, policy) == expected
    assert describe_password_errors(",".join(codes), policy) == expected
    assert describe_password_errors([], policy) == ""
    assert "at most 12" in describe_password_errors(
        ["PW_GREATER_THAN_MAX_LENGTH"], PasswordPolicy(max_length=12)
    )
    assert describe_password_errors(["PW_WHATEVER"]) == "password PW_WHATEVER"


def test_every_code_is_described() -> None:
    bad = ["", "ü", "a", "Secret#123" * 40, "12345678", "abcdefgh", "Abcdefgh", "Abcdefg1"]
    policy = PasswordPolicy(max_length=20)
    codes = {c for p in bad for c in check_password(p, policy)} | {"PW_MISMATCH"}
    assert len(codes) == 9
    for code in codes:
        assert not describe_password_errors([code], policy).endswith(code)


# -------------------------------------------------------------- generation


@pytest.mark.parametrize(
    "policy",
    [
        PasswordPolicy(),
        PasswordPolicy(min_length=16),
        PasswordPolicy(require_special=False),
        PasswordPolicy(
            require_letter=False,
            require_uppercase=False,
            require_digit=False,
            require_special=False,
        ),
        PasswordPolicy(special_chars="!"),
    ],
)
def test_generated_passwords_satisfy_policy(policy: PasswordPolicy) -> None:
    allowed = set("23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ")
    if policy.require_special:
        allowed |= set(policy.special_chars)
    seen = set()
    for _ in range(200):
        password = generate_password(policy=policy)
        assert len(password) == max(10, policy.min_length)
        assert check_password(password, policy) == []
        assert set(password) <= allowed
        seen.add(password)
    assert len(seen) == 200


def test_generated_password_length_rules() -> None:
    assert len(generate_password()) == 10
    assert len(generate_password(4)) == 10
    assert len(generate_password(24)) == 24
    assert len(generate_password(8, PasswordPolicy(min_length=12))) == 12
    assert len(generate_password(30, PasswordPolicy(max_length=16))) == 16
    special = PasswordPolicy().special_chars
    assert sum(ch in special for ch in generate_password(40)) == 1


# ---------------------------------------------------- libxcrypt (what slapd runs)


def _libcrypt() -> ctypes.CDLL:
    name = ctypes.util.find_library("crypt") or "libcrypt.so.1"
    lib = ctypes.CDLL(name)  # slapd links it; its absence must fail, not skip
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib


@pytest.mark.parametrize(
    "scheme, marker", [("SHA512-CRYPT", "$6$"), ("BCRYPT", "$2b$"), ("MD5", "$1$")]
)
@pytest.mark.parametrize("plain", ["Secret#123", "Pässwörd€1", "A1#" + "y" * 80])
def test_libxcrypt_accepts_generated_crypt(scheme: str, marker: str, plain: str) -> None:
    lib = _libcrypt()
    (value,) = hash_password(plain, scheme)
    assert value.startswith("{CRYPT}" + marker)
    setting = value[len("{CRYPT}") :].encode()
    assert lib.crypt(plain.encode(), setting) == setting
    assert lib.crypt(b"wrong", setting) != setting


# ----------------------------------------------------------------- doveadm


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "NTLM"])  # dovecot 2.3 dropped NTLM
def test_doveadm_accepts_generated_hash(scheme: str) -> None:
    assert shutil.which("doveadm"), "doveadm missing: apt-get install dovecot-core"
    (value,) = hash_password(PW, scheme)
    if scheme == "PLAIN-MD5":
        value = "{PLAIN-MD5}" + value
    result = subprocess.run(
        ["doveadm", "pw", "-t", value, "-p", PW], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
