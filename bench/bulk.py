"""The bulk measurements (jobs): a bulk update and a domain delete, ABBA-interleaved in full passes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ldap3 import MODIFY_REPLACE
from ldap3 import SUBTREE

from iredapi_ldap.ldap import attrs as A
from iredapi_ldap.ldap.directory import dn_depth

from .clients import Timing
from .clients import expect
from .ldif import user_mail
from .scenarios import Bench
from .scenarios import Row
from .scenarios import fmt_rate
from .scenarios import interleave

# Each pass flips every user, in the order API, raw, raw, API.
API_STATUSES = ("disabled", "active")
RAW_STATUSES = ("active", "disabled")


@dataclass
class JobCall:
    """One API request that may run as a job: its HTTP status, answer time, total time and job."""

    status: int
    answered: float
    seconds: float
    job: dict[str, Any] | None


def call_job(bench: Bench, method: str, path: str, **kwargs: Any) -> JobCall:
    """Send the request; if it answers 202, poll its job to the end."""
    started = time.perf_counter()
    response = expect(bench.admin.request(method, f"{bench.url}{path}", **kwargs), 200, 202)
    answered = time.perf_counter() - started
    job = bench.wait_job(response.json()["_data"]["id"]) if response.status_code == 202 else None
    return JobCall(response.status_code, answered, time.perf_counter() - started, job)


def answers(calls: list[JobCall]) -> str:
    """Return e.g. 'HTTP 202 in 73 and 80 ms'."""
    statuses = sorted({call.status for call in calls})
    times = " and ".join(f"{call.answered * 1000:.0f}" for call in calls)
    return f"HTTP {'/'.join(map(str, statuses))} in {times} ms"


def bulk_update(bench: Bench, domain: str) -> Row:
    """PUT /api/users/<domain> accountStatus=... (a job) vs raw modifies of every user, two passes each."""
    size = bench.sizes.bulk
    dns = [bench.dn.user(user_mail(domain, i)) for i in range(size)]
    calls: list[JobCall] = []

    def api_pass(k: int) -> Timing:
        call = call_job(bench, "PUT", f"/users/{domain}", data={"accountStatus": API_STATUSES[k]})
        if call.job is not None and (call.job["state"] != "done" or call.job["progress"] != size):
            raise RuntimeError(f"bulk job ended {call.job}")
        calls.append(call)
        return Timing(size, call.seconds, [call.seconds])

    def raw_pass(k: int) -> Timing:
        change = {"accountStatus": [(MODIFY_REPLACE, [RAW_STATUSES[k]])]}
        return bench.on_raw(range(size), lambda conn, i: conn.modify(dns[i], change))

    api, raw = interleave(2, api_pass, raw_pass)
    ratio = api.rate / raw.rate
    return Row(
        f"bulk update of {size:,} users", f"{api.rate:,.0f}/s ({api.elapsed:.1f} s for 2 passes)", fmt_rate(raw),
        ratio, ">= 0.8x raw modify", ratio >= 0.8,
        f"ABBA-interleaved, 2 passes a side; {answers(calls)}, then polled GET /api/jobs/<id>",
    )  # fmt: skip


def delete_domain(bench: Bench, api_domains: tuple[str, str], raw_domains: tuple[str, str]) -> Row:
    """DELETE /api/domain/<domain> (a job) vs raw deletes of a same-sized subtree, two domains each."""
    calls: list[JobCall] = []

    def api_pass(k: int) -> Timing:
        call = call_job(bench, "DELETE", f"/domain/{api_domains[k]}")
        if call.job is not None and call.job["state"] != "done":
            raise RuntimeError(f"delete job ended {call.job}")
        calls.append(call)
        # Answered at once (no job): the entries the bench loaded, the domain and its containers.
        entries = call.job["total"] if call.job else 1 + len(A.DOMAIN_OUS) + bench.sizes.delete
        return Timing(entries, call.seconds, [call.seconds])

    api, raw = interleave(2, api_pass, lambda k: raw_delete(bench, raw_domains[k]))
    ratio = api.rate / raw.rate
    accepted = all(call.status == 202 for call in calls)
    return Row(
        f"delete a domain of {bench.sizes.delete:,} users", f"{api.rate:,.0f} entries/s ({api.elapsed:.1f} s)",
        f"{raw.rate:,.0f} entries/s ({raw.elapsed:.1f} s)", ratio, "202 + job; >= 0.8x raw deletes",
        accepted and ratio >= 0.8, f"ABBA-interleaved, 2 domains a side; {answers(calls)}",
    )  # fmt: skip


def raw_delete(bench: Bench, domain: str) -> Timing:
    """Delete a domain's subtree with ldap3: one DN search, then deletes, deepest level first."""
    conn = bench.raw()
    started = time.perf_counter()
    dns = [item["dn"] for item in conn.extend.standard.paged_search(
        bench.dn.domain(domain), "(objectClass=*)", SUBTREE, attributes=["1.1"], paged_size=500, generator=True,
    ) if item["type"] == "searchResEntry"]  # fmt: skip
    conn.unbind()
    levels: dict[int, list[str]] = {}
    for dn in dns:
        levels.setdefault(dn_depth(dn), []).append(dn)
    for depth in sorted(levels, reverse=True):
        items = levels[depth]
        bench.on_raw(range(len(items)), lambda conn, i, items=items: conn.delete(items[i]))
    seconds = time.perf_counter() - started
    return Timing(len(dns), seconds, [seconds])
