"""The built-in report schema of BRIEF section 2, as a Pydantic model with the conventions applied on validation.

The annotated field types (``Status``, ``Euros``, ``Hours``, ``TicketId``, ``Text``, ``ProjectName``) are public
so that a user's own Pydantic model gets the same normalisation by using them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints

from reportx.schema.conventions import (
    TICKET_ID_PATTERN,
    parse_hours,
    parse_money,
    parse_project_name,
    parse_status,
    parse_text,
    parse_ticket_id,
)


def _number_out(value: float | None) -> float | int | None:
    # 4500.0 is written 4500: the gold JSON of the brief and fewer tokens for the model to emit.
    if value is not None and float(value).is_integer():
        return int(value)
    return value


def _list_or_empty(value: object) -> object:
    # A model that writes null or a single object for "no blockers" / "one blocker" still means a list.
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


Status = Annotated[Literal["Verde", "Amarillo", "Rojo"] | None, BeforeValidator(parse_status)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # finite: a 400-digit amount parses to inf, not JSON
Euros = Annotated[NonNegative | None, BeforeValidator(parse_money), PlainSerializer(_number_out)]
Hours = Annotated[NonNegative | None, BeforeValidator(parse_hours), PlainSerializer(_number_out)]
TicketId = Annotated[Annotated[str, StringConstraints(pattern=TICKET_ID_PATTERN)] | None, BeforeValidator(parse_ticket_id)]
Text = Annotated[str | None, BeforeValidator(parse_text)]
ProjectName = Annotated[str, BeforeValidator(parse_project_name), Field(min_length=1)]


class Blocker(BaseModel):
    """A problem that blocked or delayed work in the reported period."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: TicketId = Field(description='Ticket reference without "#", "ID:" or "ticket"; null if none.')
    delay_hours: Hours = Field(description="Hours of delay it caused (a working day is 8 hours); null if unquantified.")


class ProjectReport(BaseModel):
    """One daily project report as an exact record."""

    model_config = ConfigDict(extra="forbid", title="ProjectReport")

    project_name: ProjectName = Field(description='Project name as written, without quotes and without "proyecto"/"project".')
    status: Status = Field(description="Traffic-light status stated in the report; null when none is stated.")
    client: Text = Field(description="Client organisation as written; null if not stated.")
    budget_used_eur: Euros = Field(description="Euros spent so far (not the total, never a percentage); null if not stated.")
    key_milestone_completed: Text = Field(description="Short noun phrase for what was completed, in the report's language.")
    blockers_today: Annotated[list[Blocker], BeforeValidator(_list_or_empty)] = Field(
        description="Problems that blocked or delayed work in this period; [] when none."
    )
    next_step: Text = Field(description="Short phrase for the next step or milestone; null if not stated.")
