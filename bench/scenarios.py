"""The measured operations: the API and a raw ldap3 client doing the same LDAP work."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from ldap3 import BASE
from ldap3 import LEVEL

from iredapi_ldap.ldap import DNs
from iredapi_ldap.models.users.view import USER_READ_ATTRIBUTES
from iredapi_ldap.passwords import verify_password

from .clients import Timing
from .clients import api_session
from .clients import expect
from .clients import ldap_connection
from .clients import run_parallel
from .ldif import user_attributes
from .ldif import user_mail
from .server import ADMIN_EMAIL
from .server import ADMIN_PASSWORD
from .server import Environment
from .server import PeakRss
from .server import slapd_connections

MB = 1024 * 1024
USERS_FILTER = "(&(objectClass=mailUser)(!(mail=@{domain})))"
CONNECTION_CHECK = 1000  # API-only requests between the two `ss` readings


@dataclass
class Row:
    """One line of the results table."""

    operation: str
    api: str
    raw: str
    ratio: float | None
    target: str
    passed: bool | None
    note: str = ""


@dataclass
class Sizes:
    """How much work each measurement does."""

    create: int
    get: int
    small: int
    big: int
    bulk: int
    delete: int
    pages: int
    logins: int
    policy: int
    greylisting: int


FULL = Sizes(
    create=2000,
    get=5000,
    small=1000,
    big=100_000,
    bulk=10_000,
    delete=10_000,
    pages=100,
    logins=200,
    policy=2000,
    greylisting=10_000,
)
QUICK = Sizes(create=200, get=500, small=1000, big=5000, bulk=600, delete=600, pages=20, logins=40,
              policy=200, greylisting=2000)  # fmt: skip


def fmt_rate(timing: Timing) -> str:
    """Return 'N/s (p50 X ms)'."""
    return f"{timing.rate:,.0f}/s (p50 {timing.median_ms:.1f} ms)"


class Bench:
    """The environment, the API URL and the client parallelism shared by the measurements."""

    def __init__(self, env: Environment, url: str, parallelism: int, sizes: Sizes) -> None:
        self.env = env
        self.url = url
        self.parallelism = parallelism
        self.sizes = sizes
        self.dn = DNs(env.creds.suffix)
        self.admin = api_session(url)

    def raw(self):
        """Return a new bound ldap3 connection (as the API's service DN)."""
        return ldap_connection(self.env.creds)

    def on_api(self, indices: range, operation: Callable[[requests.Session, int], None]) -> Timing:
        """Time operation(session, i) for each i in indices on P logged-in API sessions."""
        return run_parallel(len(indices), self.parallelism, lambda: api_session(self.url),
                            lambda session, n: operation(session, indices[n]), _close)  # fmt: skip

    def on_raw(self, indices: range, operation: Callable[[Any, int], None]) -> Timing:
        """Time operation(conn, i) for each i in indices on P bound ldap3 connections."""
        return run_parallel(len(indices), self.parallelism, self.raw,
                            lambda conn, n: operation(conn, indices[n]), _unbind)  # fmt: skip

    def make_domain(self, domain: str) -> None:
        """Create a domain through the API."""
        expect(self.admin.post(f"{self.url}/domain/{domain}", data={"name": domain}), 201)

    def wait_job(self, job_id: str, timeout: float = 3600) -> dict[str, Any]:
        """Poll GET /api/jobs/<id> until the job is done or failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = expect(self.admin.get(f"{self.url}/jobs/{job_id}"), 200).json()["_data"]
            if job["state"] in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise RuntimeError(f"job {job_id} did not finish in {timeout} s")


# -- interleaving ----------------------------------------------------------------------


def split(count: int, parallelism: int, most: int = 8) -> list[range]:
    """Cut range(count) into an even number of slices (2 to `most`) of at least parallelism * 10 each."""
    slices = max(2, min(most, count // (parallelism * 10)))
    slices -= slices % 2
    return [range(k * count // slices, (k + 1) * count // slices) for k in range(slices)]


def interleave(
    slices: int, api_slice: Callable[[int], Timing], raw_slice: Callable[[int], Timing]
) -> tuple[Timing, Timing]:
    """Run slice k API-then-raw when k is even, raw-then-API when odd; return each side's combined timing."""
    # ABBA: the disk of a shared VM drifts within minutes, so both sides must see the same moments.
    api: list[Timing] = []
    raw: list[Timing] = []
    order = ((api_slice, api), (raw_slice, raw))
    for k in range(slices):
        for run, timings in order if k % 2 == 0 else order[::-1]:
            timings.append(run(k))
    return Timing.combine(api), Timing.combine(raw)


# -- create and get -------------------------------------------------------------------


def create_user(bench: Bench, label: str = "create user", suffix: str = "") -> Row:
    """POST /api/user (password_hash given) vs a raw add of the same entry, ABBA-interleaved."""
    count = bench.sizes.create
    api_domain, raw_domain = f"api-create{suffix}.bench", f"raw-create{suffix}.bench"
    for domain in (api_domain, raw_domain):
        bench.make_domain(domain)
    password_hash = bench.env.password_hash
    # One user each first: the API initialises the domain's counters on its first create.
    expect(bench.admin.post(f"{bench.url}/user/warmup@{api_domain}",
                            data={"password_hash": password_hash, "name": "Warm Up"}), 201)  # fmt: skip
    entries = [(bench.dn.user(user_mail(raw_domain, i)),
                user_attributes(user_mail(raw_domain, i), password_hash, f"Bench User {i}"))
               for i in range(count)]  # fmt: skip

    def api_create(session: requests.Session, i: int) -> None:
        mail = user_mail(api_domain, i)
        data = {"password_hash": password_hash, "name": f"Bench User {i}"}
        expect(session.post(f"{bench.url}/user/{mail}", data=data), 201)

    def raw_add(conn: Any, i: int) -> None:
        dn, attributes = entries[i]
        conn.add(dn, attributes=attributes)

    slices = split(count, bench.parallelism)
    api, raw = interleave(len(slices), lambda k: bench.on_api(slices[k], api_create),
                          lambda k: bench.on_raw(slices[k], raw_add))  # fmt: skip
    ratio = api.rate / raw.rate
    note = f"ABBA-interleaved, {len(slices)} slices; password_hash given: no hashing on either side"
    return Row(label, fmt_rate(api), fmt_rate(raw), ratio, ">= 0.8x raw add", ratio >= 0.8, note)


def get_user(bench: Bench, domain: str) -> tuple[Row, Row]:
    """GET /api/user vs a raw base search, ABBA-interleaved; LDAP connections during API requests alone."""
    count = bench.sizes.get
    picks = [random.Random(i).randrange(bench.sizes.small) for i in range(count)]
    attributes = sorted({*USER_READ_ATTRIBUTES, "objectClass"})

    def api_get(session: requests.Session, i: int) -> None:
        expect(session.get(f"{bench.url}/user/{user_mail(domain, picks[i % count])}"), 200)

    def raw_get(conn: Any, i: int) -> None:
        conn.search(
            bench.dn.user(user_mail(domain, picks[i])),
            "(objectClass=*)",
            BASE,
            attributes=attributes,
        )
        if len(conn.response) != 1:
            raise RuntimeError("raw get found nothing")

    # Warm up: every worker thread has its pooled connection before counting.
    bench.on_api(range(1000), api_get)
    conn_row = _connection_row(bench, api_get)
    slices = split(count, bench.parallelism)
    api, raw = interleave(len(slices), lambda k: bench.on_api(slices[k], api_get),
                          lambda k: bench.on_raw(slices[k], raw_get))  # fmt: skip
    ratio = api.rate / raw.rate
    get_row = Row("get user", fmt_rate(api), fmt_rate(raw), ratio, ">= 0.5x raw search", ratio >= 0.5,
                  f"ABBA-interleaved, {len(slices)} slices")  # fmt: skip
    return get_row, conn_row


def _connection_row(bench: Bench, api_get: Callable[[requests.Session, int], None]) -> Row:
    # API requests only: the raw clients open and close a connection each, which `ss` would count too.
    port = int(bench.env.creds.uri.rsplit(":", 1)[1])
    before = slapd_connections(port, ("established",)), slapd_connections(port, ("time-wait",))
    requests_made = bench.on_api(range(CONNECTION_CHECK), api_get).count
    after = slapd_connections(port, ("established",)), slapd_connections(port, ("time-wait",))
    opened = max(after[0] - before[0], 0)
    closed = max(after[1] - before[1], 0)
    bound = bench.env.workers * bench.env.threads
    return Row(
        f"LDAP connections during {requests_made:,} API-only requests",
        f"{opened} opened, {closed} closed (open: {before[0]} before, {after[0]} after)", "-", None,
        f"none closed; at most {bound} open (workers x threads)", closed == 0 and after[0] <= bound,
        "`ss` on slapd's port (ESTABLISHED, TIME-WAIT); a pool only grows to the requests in flight",
    )  # fmt: skip


# -- listing and export ----------------------------------------------------------------


def first_page(bench: Bench, small: str, big: str) -> list[Row]:
    """GET /api/users/<domain>?page=1&page_size=50 at 1,000 and at N users, one client."""
    rows = []
    timings = {}
    for domain, size in ((small, bench.sizes.small), (big, bench.sizes.big)):
        api, raw = _page_timings(bench, domain, size)
        timings[size] = api
        rows.append(Row(
            f"first page of 50, {size:,} users", f"p50 {api.median_ms:.1f} ms, p95 {api.percentile(0.95):.1f} ms",
            f"p50 {raw.median_ms:.1f} ms", api.median_ms / raw.median_ms, "p50 < 50 ms", api.median_ms < 50,
            "latency, one client; raw = one paged search of 50; ratio = API/raw time",
        ))  # fmt: skip
    small_ms, big_ms = timings[bench.sizes.small].median_ms, timings[bench.sizes.big].median_ms
    rows.append(Row(
        f"first page: {bench.sizes.big:,} vs {bench.sizes.small:,} users", f"{big_ms / small_ms:.2f}x", "-",
        None, "<= 2x", big_ms / small_ms <= 2, "p50 latency ratio",
    ))  # fmt: skip
    return rows


def _page_timings(bench: Bench, domain: str, size: int) -> tuple[Timing, Timing]:
    attributes = sorted({*USER_READ_ATTRIBUTES, "objectClass"})
    session = api_session(bench.url)
    conn = bench.raw()

    def api_page(_client: Any, _i: int) -> None:
        body = expect(session.get(f"{bench.url}/users/{domain}?page=1&page_size=50"), 200).json()
        if len(body["_data"]) != 50 or body["total"] != size:
            raise RuntimeError(
                f"unexpected page: total {body['total']}, {len(body['_data'])} items"
            )

    def raw_page(_client: Any, _i: int) -> None:
        conn.search(bench.dn.users(domain), USERS_FILTER.format(domain=domain), LEVEL,
                    attributes=attributes, paged_size=50)  # fmt: skip

    api_page(None, 0)
    api = run_parallel(bench.sizes.pages, 1, lambda: None, api_page)
    raw = run_parallel(bench.sizes.pages, 1, lambda: None, raw_page)
    conn.unbind()
    session.close()
    return api, raw


def export(bench: Bench, domain: str) -> list[Row]:
    """GET /api/users/<domain>/export (streamed NDJSON) vs a raw paged search; worker memory."""
    size = bench.sizes.big
    attributes = sorted({*USER_READ_ATTRIBUTES, "objectClass"})
    session = api_session(bench.url)
    with PeakRss(bench.env.worker_pids()) as memory:
        started = time.perf_counter()
        lines = 0
        with session.get(f"{bench.url}/users/{domain}/export", stream=True) as response:
            expect(response, 200)
            for line in response.iter_lines(chunk_size=65536):
                if line:
                    lines += 1
        api_seconds = time.perf_counter() - started
    session.close()
    if lines != size:
        raise RuntimeError(f"export returned {lines} lines, expected {size}")
    growth = memory.growth

    conn = bench.raw()
    started = time.perf_counter()
    found = sum(
        1
        for item in conn.extend.standard.paged_search(
            bench.dn.users(domain),
            USERS_FILTER.format(domain=domain),
            LEVEL,
            attributes=attributes,
            paged_size=500,
            generator=True,
        )  # fmt: skip
        if item["type"] == "searchResEntry"
    )
    raw_seconds = time.perf_counter() - started
    conn.unbind()
    if found != size:
        raise RuntimeError(f"raw export found {found}, expected {size}")
    ratio = api_seconds / raw_seconds
    return [
        Row(f"export {size:,} users (NDJSON, streamed)", f"{api_seconds:.2f} s ({size / api_seconds:,.0f}/s)",
            f"{raw_seconds:.2f} s", ratio, "<= 2x raw paged search time", ratio <= 2,
            "ratio = API/raw time"),
        Row("export: worker memory growth", f"{growth / MB:.1f} MB", "-", None, "< 64 MB", growth < 64 * MB,
            "peak RSS minus RSS before, largest over the workers"),
    ]  # fmt: skip


# -- login ---------------------------------------------------------------------------


def login(bench: Bench) -> Row:
    """POST /api/login latency vs the cost of verifying the admin's password hash alone."""
    conn = bench.raw()
    conn.search(bench.dn.admin(ADMIN_EMAIL), "(objectClass=*)", BASE, attributes=["userPassword"])
    stored = conn.response[0]["raw_attributes"]["userPassword"][0].decode()
    conn.unbind()
    verify = []
    for _ in range(50):
        started = time.perf_counter()
        verify_password(ADMIN_PASSWORD, stored)
        verify.append(time.perf_counter() - started)
    verify_ms = sorted(verify)[len(verify) // 2] * 1000

    session = requests.Session()

    def api_login(_client: Any, _i: int) -> None:
        # A full login each time (credentials checked, new session cookie), on a kept-alive connection.
        session.cookies.clear()
        expect(
            session.post(
                f"{bench.url}/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            ),
            200,
        )

    api_login(None, 0)
    timing = run_parallel(bench.sizes.logins, 1, lambda: None, api_login)
    session.close()
    beyond = timing.percentile(0.95) - verify_ms
    return Row(
        "login (one client)", f"p50 {timing.median_ms:.1f} ms, p95 {timing.percentile(0.95):.1f} ms",
        f"hash check {verify_ms:.2f} ms", None, "p95 < hash + 10 ms", beyond < 10,
        f"{stored.split('}')[0]}}} hash; p95 beyond the hash: {beyond:.1f} ms",
    )  # fmt: skip


def _close(session: requests.Session) -> None:
    session.close()


def _unbind(conn: Any) -> None:
    conn.unbind()
