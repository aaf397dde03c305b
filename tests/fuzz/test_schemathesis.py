"""A bounded schemathesis run against the live `iredapi-ldap serve`: no request ends in a 5xx.

The real command serves (gunicorn, the embedded slapd, the SQLite store, an mlmmj spool),
and a global admin's API token authenticates every request. Every operation of
`GET /api/openapi.json` is sent:

- schemathesis' coverage cases (boundary and invalid values, missing fields, wrong types,
  other methods and media types), at most IREDAPI_FUZZ_COVERAGE of them (0: all), once
  with the generated path and once with the path pinned to objects that exist;
- IREDAPI_FUZZ_EXAMPLES random cases that fit the schema and as many that do not, again
  with generated and with pinned paths.

Pinned paths name a domain with a user, an alias, a legacy and an mlmmj list, and a
second admin, made before the run, so that generated bodies and queries get past the
path checks into the models. Deletes run last. The defaults keep the run near 1,200
requests, under a minute on two cores; `.ci/run` raises both. Every 5xx is collected with
the last exception line the server logged, and the test fails listing each distinct one
with a curl command that reproduces it. (schemathesis never sends lone surrogates or
deeply nested JSON: tests/api's malformed-body corpus covers those.)
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import seed
from hypothesis import settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from iredapi_ldap import config as cfg
from tests.helpers import Served

EXAMPLES = int(os.environ.get("IREDAPI_FUZZ_EXAMPLES", "3"))
COVERAGE = int(os.environ.get("IREDAPI_FUZZ_COVERAGE", "6"))
SEED = int(os.environ.get("IREDAPI_FUZZ_SEED", "11"))
TIMEOUT = 30
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

ADMIN = "fuzzer@admins.test"  # the global admin `serve` creates; its token sends every case
PASSWORD = "Fuzz-Pass-123"  # of that admin and of the objects made before the run
DOMAIN = "fuzz.test"
OTHER_ADMIN = "other@admins.test"
SEED_OBJECTS = (
    (f"domain/{DOMAIN}", {}),
    (f"user/user@{DOMAIN}", {"password": PASSWORD}),
    (f"alias/alias@{DOMAIN}", {}),
    (f"maillist/list@{DOMAIN}", {}),
    (f"ml/ml@{DOMAIN}", {}),
    (f"admin/{OTHER_ADMIN}", {"password": PASSWORD}),
)
# The `<mail>` of a pinned path, by the path's leading part; a create gets a fresh address.
PINNED_MAIL = (
    ("/api/user/", f"user@{DOMAIN}"),
    ("/api/verify_password/user/", f"user@{DOMAIN}"),
    ("/api/alias/", f"alias@{DOMAIN}"),
    ("/api/maillist/", f"list@{DOMAIN}"),
    ("/api/ml/", f"ml@{DOMAIN}"),
    ("/api/admin/", OTHER_ADMIN),
    ("/api/verify_password/admin/", OTHER_ADMIN),
)
# The last line of a logged traceback, e.g. "UnicodeEncodeError: 'utf-8' codec can't ...".
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


@dataclass
class Finding:
    """One distinct server error: the operation, the status, what the server logged."""

    operation: str
    status: int
    cause: str
    curl: str
    count: int = 1


@dataclass
class Run:
    """What the requests met: statuses, and the server errors by (operation, status, cause)."""

    statuses: Counter = field(default_factory=Counter)
    findings: dict[tuple[str, int, str], Finding] = field(default_factory=dict)
    without_cases: list[str] = field(default_factory=list)

    def report(self) -> str:
        """Return the distinct server errors, one paragraph each."""
        return "\n\n".join(
            f"{f.operation} -> {f.status} ({f.count}x)\n  cause: {f.cause}\n  {f.curl}"
            for f in self.findings.values()
        )


class LiveServer:
    """`iredapi-ldap serve` on the embedded slapd, with a global admin, its token and objects."""

    def __init__(self, root: Path) -> None:
        data = root / "var"
        data.mkdir()
        (root / "mlmmj").mkdir()
        # serve keeps every key it finds in DIR/config.ini and refreshes only [ldap].
        cfg.write_ini(data / "config.ini", {
            "SECRET_KEY": "fuzz",
            "MLMMJ_SPOOL_DIR": str(root / "mlmmj"),
            "MLMMJ_ARCHIVE_DIR": str(root / "mlmmj-archive"),
            # Generated logins fail by the hundred from one address; a 429 for the
            # harness's own token would hide everything after it.
            "LOGIN_FAILURES_PER_ACCOUNT": "1000000/minute",
            "LOGIN_FAILURES_PER_ADDRESS": "1000000/minute",
        })  # fmt: skip
        self.served = Served(data, "--admin-email", ADMIN, "--admin-password", PASSWORD)
        self.api = self.served.base
        self.root_url = self.api.removesuffix("/api")
        self.session = requests.Session()
        login = self.session.post(f"{self.api}/login",
                                  data={"username": ADMIN, "password": PASSWORD})  # fmt: skip
        assert login.status_code == 200, login.text
        made = self.session.post(f"{self.api}/admin/{ADMIN}/tokens", data={"name": "fuzz"})
        assert made.status_code == 201, made.text
        for path, body in SEED_OBJECTS:
            response = self.session.post(f"{self.api}/{path}", data=body)
            assert response.status_code == 201, (path, response.text)
        # From here on only the token authenticates: a generated logout ends nothing of ours.
        self.session.cookies.clear()
        self.headers = {"Authorization": f"Bearer {made.json()['_data']['token']}"}
        self.log_offset = 0

    def new_log(self) -> str:
        """Return what the server logged since the last call."""
        text = self.served.output()
        fresh, self.log_offset = text[self.log_offset :], len(text)
        return fresh

    def send(self, case, run: Run) -> None:
        """Send one case with the token; record its status, and the cause of a 5xx."""
        response = case.call(base_url=self.root_url, session=self.session,
                             headers=self.headers, timeout=TIMEOUT)  # fmt: skip
        run.statuses[response.status_code] += 1
        log = self.new_log()
        if response.status_code < 500:
            return
        key = (case.operation.label, response.status_code, cause_of(log))
        if key in run.findings:
            run.findings[key].count += 1
            return
        curl = case.as_curl_command(headers=self.headers, base_url=self.root_url)
        run.findings[key] = Finding(*key, curl)

    def stop(self) -> None:
        """Stop serve (gunicorn, then slapd)."""
        self.session.close()
        self.served.stop()


@pytest.fixture(scope="module")
def live():
    """The live server of this module."""
    # Below /tmp, not pytest's 0700 tree: the postfix user must reach serve's private
    # Postfix instance in the data dir, or the mail-queue routes answer 503.
    base = Path(tempfile.mkdtemp(prefix="iredapi-fuzz-"))
    base.chmod(0o755)
    server = LiveServer(base)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def cause_of(log: str) -> str:
    """Return the last exception line logged, else the last ERROR line, else a hint."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    raised = [line for line in lines if EXCEPTION_LINE.match(line)]
    errors = [line for line in lines if "ERROR" in line]
    return (raised or errors or ["(nothing logged)"])[-1][:300]


def pinned_path(operation) -> dict[str, str]:
    """Return path values naming objects that exist (a fresh address for a create)."""
    path, values = operation.path, {}
    if "{domain}" in path:
        values["domain"] = DOMAIN
    if "{new_mail}" in path:
        values["new_mail"] = f"renamed@{DOMAIN}"
    if "{mail}" in path:
        mail = next(mail for prefix, mail in PINNED_MAIL if path.startswith(prefix))
        creating = operation.method.upper() == "POST" and path.endswith("{mail}")
        values["mail"] = f"fresh-{mail}" if creating else mail
    return values


def sample(cases: Iterable, limit: int, salt: str) -> list:
    """Return at most `limit` of the cases (all for 0), the same ones for the same seed."""
    cases = list(cases)
    if not limit or len(cases) <= limit:
        return cases
    return random.Random(f"{SEED}:{salt}").sample(cases, limit)


def coverage_phase(live: LiveServer, schema, operation, run: Run) -> None:
    """Send a sample of schemathesis' coverage cases, with generated and with pinned paths."""
    config = schema.config.generation_for(operation=operation)
    for pinned in (False, True) if "{" in operation.path else (False,):
        cases = schema.iter_coverage_cases(
            operation, generation_modes=list(MODES), generation_config=config
        )
        for case in sample(cases, COVERAGE, f"{operation.label}:{pinned}"):
            if pinned:
                case.path_parameters = {**(case.path_parameters or {}), **pinned_path(operation)}
            live.send(case, run)


def fuzzing_phase(live: LiveServer, operation, run: Run) -> None:
    """Send EXAMPLES random cases per mode, with generated and with pinned paths."""
    for pinned in (False, True) if "{" in operation.path else (False,):
        for mode in MODES:
            strategy = operation.as_strategy(
                generation_mode=mode, path_parameters=pinned_path(operation) if pinned else None
            )

            @seed(SEED)
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                      print_blob=False)  # fmt: skip
            @given(case=strategy)
            def send(case):
                live.send(case, run)

            try:
                send()
            except Unsatisfiable:  # e.g. no invalid input exists for an operation without any
                run.without_cases.append(f"{operation.label} ({mode}, pinned={pinned})")


def test_no_generated_request_ends_in_a_server_error(live):
    """Every operation, with boundary, valid and invalid input: no 5xx, and the token held."""
    schema = schemathesis.openapi.from_url(f"{live.api}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, [op.label for op in operations]
    # Deletes last and the domain's very last, so that the pinned objects exist until then.
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.path.startswith("/api/domain")))  # fmt: skip
    run = Run()
    for operation in operations:
        coverage_phase(live, schema, operation, run)
        fuzzing_phase(live, operation, run)
    total = sum(run.statuses.values())
    print(f"\n{total} requests, statuses {dict(sorted(run.statuses.items()))}")
    print(f"no cases for: {', '.join(run.without_cases) or 'none'}")
    # A harness locked out would meet nothing but 401s and prove nothing.
    check = requests.get(f"{live.api}/admins", headers=live.headers, timeout=TIMEOUT)
    assert check.status_code == 200, check.text
    assert run.statuses[401] < total / 4, run.statuses
    assert not run.findings, f"{len(run.findings)} distinct server errors:\n\n{run.report()}"
