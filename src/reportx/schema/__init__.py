"""The report schema: the built-in ``ProjectReport``, its conventions, and loading a user's own schema."""

from reportx.schema.conventions import (
    STATUS_VALUES,
    STATUS_WORDS,
    parse_hours,
    parse_money,
    parse_project_name,
    parse_status,
    parse_text,
    parse_ticket_id,
)
from reportx.schema.loader import RecordInvalid, ReportSchema, builtin_schema, load_schema
from reportx.schema.report import Blocker, Euros, Hours, ProjectName, ProjectReport, Status, Text, TicketId

__all__ = [
    "STATUS_VALUES",
    "STATUS_WORDS",
    "Blocker",
    "Euros",
    "Hours",
    "ProjectName",
    "ProjectReport",
    "RecordInvalid",
    "ReportSchema",
    "Status",
    "Text",
    "TicketId",
    "builtin_schema",
    "load_schema",
    "parse_hours",
    "parse_money",
    "parse_project_name",
    "parse_status",
    "parse_text",
    "parse_ticket_id",
]
