"""ClamAV, SpamAssassin and Amavisd: status, on and off, through the root helper.

The semantics are those of an iRedMail host (mailhost-ops.md §2.2): ClamAV is clamd plus
its activation socket and Amavisd's virus checks; SpamAssassin runs inside Amavisd, so
switching it is Amavisd's spam-check bypass and a restart; Amavisd can be started but is
not stopped (all mail would be deferred). A state that is changing answers 409; a service
that is not installed, or a host without usable service control, 503 naming what.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from .. import errors
from . import roothelper
from .helper import Helper
from .mlmmj import MailHostUnavailable

SERVICES = roothelper.SERVICES
SWITCHABLE = ("clamav", "spamassassin")
STARTABLE = ("amavis",)
BACKENDS = ("systemd", "command", "none")
UNAVAILABLE = "SERVICE_UNAVAILABLE"


def check_service(name: Any, allowed: tuple[str, ...] = SERVICES) -> str:
    """Return a known service name; 400 naming the field `service` otherwise."""
    if name not in allowed:
        message = gettext("One of: %(choices)s.", choices=", ".join(allowed))
        raise errors.ValidationFailed(message, errors={"service": [message]})
    return name


class Services:
    """The anti-virus and anti-spam services of the mail host."""

    def __init__(self, helper: Helper, backend: str = "systemd") -> None:
        self.helper = helper
        self.backend = backend

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Services:
        """Build from the app config ([mailhost] section)."""
        return cls(Helper.from_config(config), config["MAILHOST_SERVICE_BACKEND"])

    def _call(self, verb: str, service: str) -> dict[str, Any]:
        if self.backend == "none":
            raise MailHostUnavailable(
                gettext(
                    "Service control is turned off on this host "
                    "([mailhost] service_backend = none)."
                ),
                code="SERVICE_CONTROL_UNAVAILABLE",
            )
        answer = self.helper.call(verb, service, unavailable=UNAVAILABLE)
        return {key: value for key, value in answer.items() if key not in ("ok", "verb")}

    def status(self, service: str) -> dict[str, Any]:
        """Return {"service", "status": on|off|changing, "units": {...}, "amavis_checks"?}."""
        return self._call("service-status", check_service(service))

    def switch(self, service: str, on: bool) -> dict[str, Any]:
        """Switch clamav or spamassassin on or off (amavis: on only); return the new status."""
        allowed = SWITCHABLE + STARTABLE if on else SWITCHABLE
        return self._call("service-on" if on else "service-off", check_service(service, allowed))


def get_services() -> Services:
    """Return the Services of the current app's configuration."""
    from flask import current_app

    return Services.from_config(current_app.config)
