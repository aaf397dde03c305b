"""Settings of an mlmmj list: which control files a request writes, and reading them back.

Names and defaults follow mlmmjadmin (settings.py, libs/mlmmj.py, libs/form_utils.py);
the parameter -> control file table is mailhost.TUNABLES.
"""

from __future__ import annotations

from typing import Any

from ... import errors
from ...ldap import domain_of
from ...mailhost import FLAG
from ...mailhost import FLAG_PARAMETERS
from ...mailhost import LINE
from ...mailhost import LINES
from ...mailhost import TEXT
from ...mailhost import TUNABLES
from ...mailhost import Mlmmj
from ..users.user import local_part

# mlmmjadmin MLMMJ_DEFAULT_PROFILE_SETTINGS: a new list's settings unless given.
CREATE_DEFAULTS = {
    "tocc": True, "only_subscriber_can_post": True, "only_moderator_can_post": False,
    "moderate_non_subscriber_post": False, "notify_owner_when_sub_unsub": False,
    "notify_sender_when_moderated": False, "disable_archive": False,
    "disable_retrieving_old_posts": True, "only_subscriber_can_get_old_posts": True,
}  # fmt: skip
# mlmmjadmin MLMMJ_DEFAULT_CUSTOM_HEADERS, always present; MLMMJ_DEFAULT_REMOVED_HEADERS is empty.
DEFAULT_HEADERS = {
    "Precedence": "list",
    "X-Mailing-List": "{mail}",
    "List-Subscribe": "<mailto:{listname}+subscribe@{domain}?subject=Subscribe>",
    "List-Unsubscribe": "<mailto:{listname}+unsubscribe@{domain}?subject=Unsubscribe>",
}
DEFAULT_REMOVED_HEADERS: tuple[str, ...] = ()
# accessPolicy -> (only_subscriber_can_post, only_moderator_can_post); iRedAPD leaves these
# two to mlmmj and enforces domain/subdomain itself.
POLICY_FLAGS = {"membersonly": (True, False), "moderatorsonly": (False, True)}
OPEN_POLICIES = ("public", "domain", "subdomain")


# -- reading back ----------------------------------------------------------------------


def _default(kind: str) -> Any:
    return {FLAG: False, LINE: "", LINES: [], TEXT: ""}[kind]


def parse_size(text: str | None) -> int:
    """Return a stored byte size as an int (0 when absent or garbage)."""
    try:
        return max(int((text or "").strip()), 0)
    except ValueError:
        return 0


def settings_view(mlmmj: Mlmmj, mail: str, exists: bool) -> dict[str, Any]:
    """Return the profile parameters as the control files say (defaults when absent)."""
    view: dict[str, Any] = {}
    for name, (control, kind) in TUNABLES.items():
        if name != "name":
            view[name] = mlmmj.read_control(mail, control, kind) if exists else _default(kind)
    view["max_message_size"] = parse_size(view["max_message_size"])
    view["extra_addresses"] = [a.lower() for a in view["extra_addresses"] if a.lower() != mail]
    for name in ("owner", "moderators", "subscription_moderators"):
        view[name] = [a.lower() for a in view[name]]
    return view


# -- settings to write -----------------------------------------------------------------


def bad(field: str, text: str) -> errors.ValidationFailed:
    """Return a 400 naming one field."""
    return errors.ValidationFailed(text, errors={field: [text]})


def posting_rules(
    values: dict[str, Any], policy: str, subscribers_only: bool, moderators_only: bool
) -> tuple[str, bool, bool]:
    """Return (accessPolicy, only_subscriber_can_post, only_moderator_can_post) afterwards.

    accessPolicy and the two mlmmj flags describe the same rule, so they are kept in
    step: a policy sets the flags, a flag sets the policy; contradicting values are 400.
    """
    sub, mod = values.get("only_subscriber_can_post"), values.get("only_moderator_can_post")
    if "accessPolicy" in values:
        policy = values["accessPolicy"]
        want_sub, want_mod = POLICY_FLAGS.get(policy, (False, False))
        for name, given, want in (("only_subscriber_can_post", sub, want_sub),
                                  ("only_moderator_can_post", mod, want_mod)):  # fmt: skip
            if given is not None and given != want:
                raise bad(name, f"accessPolicy={policy} means {name}={'yes' if want else 'no'}.")
        return policy, want_sub, want_mod
    new_sub = sub if sub is not None else subscribers_only and not mod
    new_mod = mod if mod is not None else moderators_only and not sub
    if new_mod:
        policy = "moderatorsonly"
    elif new_sub:
        policy = "membersonly"
    elif policy not in OPEN_POLICIES:
        policy = "public"
    return policy, bool(new_sub), bool(new_mod)


def _headers(mail: str, given: list[str]) -> list[str]:
    """Return the custom headers: the given ones, then mlmmjadmin's defaults (which win)."""
    listname, domain = local_part(mail), domain_of(mail)
    defaults = {name.lower() for name in DEFAULT_HEADERS}
    kept = [h for h in given if h.partition(":")[0].strip().lower() not in defaults]
    return kept + [
        f"{name}: {value.format(mail=mail, listname=listname, domain=domain)}"
        for name, value in DEFAULT_HEADERS.items()
    ]


def _removed_headers(given: list[str]) -> list[str]:
    lowered = {h.lower() for h in given}
    return list(given) + [h for h in DEFAULT_REMOVED_HEADERS if h.lower() not in lowered]


def _submod(values: dict[str, Any]) -> tuple[str, Any] | None:
    """Return what control/submod becomes: (FLAG, bool) or (LINES, moderators); None = as is."""
    moderate = values.get("moderate_subscription")
    moderators = values.get("subscription_moderators")
    if moderators:
        if moderate is False:
            raise bad(
                "moderate_subscription",
                "subscription_moderators implies moderate_subscription=yes.",
            )
        return LINES, moderators
    if moderate is not None:
        return FLAG, moderate  # yes without moderators: the owners moderate
    if moderators is not None:
        return FLAG, False  # an empty moderator list ends moderation (mlmmjadmin)
    return None


def control_writes(
    mail: str, values: dict[str, Any], posting: tuple[bool, bool] | None, creating: bool
) -> list[tuple[str, str, Any]]:
    """Return (control file, kind, value) for every setting the request changes."""
    domain = domain_of(mail)
    writes: dict[str, tuple[str, Any]] = {}

    def put(name: str, value: Any) -> None:
        writes[name] = (TUNABLES[name][1], value)

    for name in FLAG_PARAMETERS:
        if name in values and name not in ("moderate_subscription",):
            put(name, values[name])
    if posting is not None:
        put("only_subscriber_can_post", posting[0])
        put("only_moderator_can_post", posting[1])
        if posting[1] and (values.get("only_moderator_can_post") or values.get("accessPolicy")):
            if values.get("moderated") is False:
                raise bad("moderated", "Only moderators may post: the list must be moderated.")
            put("moderated", True)  # mlmmjadmin touches control/moderated with modonlypost
    if "name" in values:
        put("name", values["name"])
    size = values.get("max_message_size", values.get("maxMailSize"))
    if size is not None:
        put("max_message_size", str(size) if size else "")
    if "subject_prefix" in values:
        put("subject_prefix", values["subject_prefix"])
    if "owner" in values or creating:
        put("owner", values.get("owner") or [f"postmaster@{domain}"])
    if "moderators" in values or creating:
        put("moderators", values.get("moderators", [f"postmaster@{domain}"]))
    if "extra_addresses" in values:
        put("extra_addresses", [mail, *(a for a in values["extra_addresses"] if a != mail)])
    if "custom_headers" in values or creating:
        put("custom_headers", _headers(mail, values.get("custom_headers", [])))
    if "remove_headers" in values or creating:
        put("remove_headers", _removed_headers(values.get("remove_headers", [])))
    for name in ("footer_text", "footer_html"):
        if name in values:
            put(name, values[name])
    result = [(TUNABLES[name][0], kind, value) for name, (kind, value) in writes.items()]
    submod = _submod(values)
    if submod is not None:
        result.append(("submod", *submod))
    return result


def apply_controls(
    mlmmj: Mlmmj, mail: str, writes: list[tuple[str, str, Any]], values: dict
) -> None:
    """Write the control files; a footer_html needs a footer_text file (altermime)."""
    for control, kind, value in writes:
        mlmmj.write_control(mail, control, kind, value)
    footer_file = TUNABLES["footer_text"][0]
    if values.get("footer_html") and not mlmmj.read_control(mail, footer_file, TEXT):
        mlmmj.write_control(mail, footer_file, TEXT, "\n")


def ldap_roles(owners: list[str], moderators: list[str]) -> dict[str, list[str]]:
    """Return listOwner, listModerator and listAllowedUser (moderators plus owners)."""
    allowed = list(dict.fromkeys([*moderators, *owners]))
    return {"listOwner": owners, "listModerator": moderators, "listAllowedUser": allowed}
