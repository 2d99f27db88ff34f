"""Schemathesis check loaded through SCHEMATHESIS_HOOKS: a schema-valid request may be refused
only for one of the rules the OpenAPI document states in words (OpenAPI cannot express them).
A refusal with any other message fails the run, so a new rule must be documented and listed
here before it can ship."""

import re

import schemathesis

# The documented refusal rules (the document's description and each operation's description),
# by the start of the proxy's message.
DOCUMENTED_REFUSALS = {
    "combination not listed": r"^Invalid combination of parameters: ",
    "no parameter of a required combination": r"^This API requires at least 1 parameter as follows; ",
    "date that does not exist": r"^Invalid date for ",
    "date outside the plan's history window": r"^Your subscription covers the following dates: ",
    "from after to": r"^from \(.*\) must not be after to ",
    "pagination_key not issued for this query": r"^(Invalid pagination_key|This pagination_key has expired)",
    "dataset served only as CSV bulk files": r"^This data is provided only as CSV bulk files",
}


def refusal_rule(message: str):
    return next((name for name, rx in DOCUMENTED_REFUSALS.items() if re.search(rx, message)), None)


@schemathesis.check
def refusals_only_for_documented_rules(ctx, response, case):
    """A 400/403 for a generated request must name one of the documented rules."""
    if response.status_code not in (400, 403):
        return None
    if case.meta is not None and not case.meta.generation.mode.is_positive:
        return None  # negative data: any refusal is right
    if not case.path.startswith("/v2/"):
        return None
    try:
        message = response.json().get("message", "")
    except Exception:  # noqa: BLE001 - a non-JSON refusal is itself a failure
        message = ""
    if refusal_rule(message) is None:
        raise AssertionError(f"schema-valid request refused for an undocumented reason: {response.status_code} {message!r}")
    return None
