"""statuscheck 3.11.0 (PyPI, Apache-2.0) reads one of our status pages through
its Statuspage v2 JSON, unchanged, and sees what the page shows.

usage: python statuscheck_check.py <page-url>   (e.g. http://127.0.0.1:PORT/status/acme)

statuscheck is strict: an indicator or component status Atlassian does not
use raises KeyError, a missing field an attrs error. Its CLI hard-codes
https://{id}.statuspage.io; its Statuspage base class takes any base URL.
"""
import sys

from statuscheck.services.bases._statuspageio import BaseStatusPageAPI

BASE = sys.argv[1].rstrip("/")


class Page(BaseStatusPageAPI):
    name, status_url = "Acme", BASE

    def _get_base_url(self):
        return BASE + "/api/v2/"


summary = Page().get_summary()
status = (summary.status.code, summary.status.name, summary.status.is_ok)
assert status == ("major", "Major outage", False), status
components = {c.name: c.status for c in summary.components}
assert components == {
    "Public API": "Partial outage",
    "Backend": "Operational",
    "Jobs": "Operational",
    "Database": "Under maintenance",
    "Website": "Operational",
    "CDN": "Operational",
}, components
# Unresolved incidents, and maintenance in progress or upcoming.
events = {(i.name, i.status) for i in summary.incidents}
assert events == {
    ("Checkout errors", "identified"),
    ("Database upgrade", "in_progress"),
    ("CDN certificate rotation", "scheduled"),
}, events
group = next(c for c in summary.components if c.extra_data["group"])
children = {c.name for c in summary.components if c.extra_data["group_id"] == group.id}
assert children == {"Jobs", "Database"}, children
print("statuscheck 3.11.0 read the page as shown")
