"""A user's own record, for `reportx schema --schema samples/site_report.py:SiteReport` and `reportx extract --schema ...`.

It reuses reportx's normalising field types: a status wording becomes Verde / Amarillo / Rojo, money in any written
form becomes euros, a duration becomes hours.
"""

from pydantic import BaseModel, Field

from reportx.schema import Euros, Hours, Status, Text


class SiteReport(BaseModel):
    """A construction site's daily report."""

    site: Text = Field(description="the site's name as written")
    status: Status = Field(default=None, description="the traffic-light status stated in the report")
    spent_eur: Euros = Field(default=None, description="euros spent so far")
    lost_hours: Hours = Field(default=None, description="hours lost today (weather, deliveries)")
