import pytest

from reportx.schema.conventions import (
    STATUS_WORDS,
    parse_hours,
    parse_money,
    parse_number,
    parse_project_name,
    parse_status,
    parse_text,
    parse_ticket_id,
)


@pytest.mark.parametrize("value", [w for words in STATUS_WORDS.values() for w in words])
def test_every_status_wording_maps_to_its_value(value):
    expected = next(v for v, words in STATUS_WORDS.items() if value in words)
    assert parse_status(value) == expected
    assert parse_status(value.upper()) == expected


@pytest.mark.parametrize(
    "value, expected",
    [("Estado: Verde", "Verde"), ("ambar", "Amarillo"), ("CRITICO", "Rojo"), ("Off track.", "Rojo"), ("", None),
     (None, None), ("null", None)],
)
def test_status_loose_forms(value, expected):
    assert parse_status(value) == expected


@pytest.mark.parametrize("value", ["purple", "verde o rojo", 3])
def test_status_rejects_what_is_no_status(value):
    with pytest.raises(ValueError):
        parse_status(value)


@pytest.mark.parametrize(
    "value, expected",
    [("4500€ de 5000€", 4500), ("4.500 €", 4500), ("4,5k€", 4500), ("EUR 12,300", 12300), ("12.300,50 €", 12300.5),
     ("1,234.56 EUR", 1234.56), ("€ 980", 980), ("12 300 €", 12300), (4500, 4500), (4500.0, 4500), ("", None),
     (None, None), ("1,2 millones de euros", 1_200_000), ("3 M€", 3_000_000), ("30 m de zanja, 1.200 €", 30),
     ("4500\nmil gracias", 4500)],
)
def test_money_formats(value, expected):
    assert parse_money(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["80%", "el 60 % del presupuesto", "mucho", -5, True])
def test_money_rejects_percentages_and_nonsense(value):
    with pytest.raises(ValueError):
        parse_money(value)


@pytest.mark.parametrize(
    "value, expected",
    [("2 horas", 2), ("media hora", 0.5), ("90 minutos", 1.5), ("un día", 8), ("a day", 8), ("una jornada", 8),
     ("día y medio", 12), ("dia y medio", 12), ("2 días", 16), ("2 days", 16), ("half an hour", 0.5),
     ("1,5 horas", 1.5), ("hora y media", 1.5), ("3h", 3), ("1h30", 1.5), ("45 min", 0.75), ("half a day", 4),
     ("a day and a half", 12), ("one and a half hours", 1.5), ("2 and a half days", 20), ("a full day", 8),
     ("2-hour delay", 2), ("un día entero", 8), ("dos horas y media", 2.5), (2, 2), ("2", 2), ("unas horas", None), ("some days", None), ("", None)],
)
def test_duration_forms(value, expected):
    result = parse_hours(value)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


@pytest.mark.parametrize("value", ["mañana", "soon", -1])
def test_duration_rejects_what_is_no_duration(value):
    with pytest.raises(ValueError):
        parse_hours(value)


@pytest.mark.parametrize(
    "value, expected",
    [("#9812", "9812"), ("ID: 9812", "9812"), ("ticket 9812", "9812"), ("JIRA-482", "JIRA-482"),
     ("ticket #4471", "4471"), ("Ticket: INC-22", "INC-22"), ("(ID: 9812)", "9812"), ("[#9812]", "9812"), (9812, "9812"), ("", None), (None, None)],
)
def test_ticket_ids(value, expected):
    assert parse_ticket_id(value) == expected


def test_ticket_id_rejects_sentences():
    with pytest.raises(ValueError):
        parse_ticket_id("a bug in the payment flow")


@pytest.mark.parametrize("value", ["IMPEDIMENTO", "[CERRADO]", "BLOCKER", "JIRA-", "a"])
def test_a_word_without_a_number_names_no_ticket(value):
    assert parse_ticket_id(value) is None


@pytest.mark.parametrize(
    "value, expected",
    [("'Alpha'", "Alpha"), ("Proyecto Alpha", "Alpha"), ("«Fénix»", "Fénix"), ("the project Nova", "Nova"),
     ("Nova project", "Nova"), ("PRJ-2041", "PRJ-2041"), ('"Data Lake Norte"', "Data Lake Norte"),
     # a subject line's tail names the report; any other tail is the name's
     ("Portal del Empleado – martes", "Portal del Empleado"), ("Harbourside – daily update", "Harbourside"),
     ("Nómina360 - Daily 22/05", "Nómina360"), ("Orión — informe semanal", "Orión"), ("Atlas | Week 12", "Atlas"),
     ("Northgate Tower – Phase 2", "Northgate Tower – Phase 2"), ("Coastal Flood Defence – Phase 3",
     "Coastal Flood Defence – Phase 3"), ("Ridgeway HQ fit-out", "Ridgeway HQ fit-out"),
     ("Estado Sólido - Fase 2", "Estado Sólido - Fase 2"), ("Update Hub", "Update Hub"),
     # spoken punctuation of a dictation
     ("orión coma", "orión"), ("Granite period", "Granite"), ("Punto", "Punto")],
)
def test_project_names(value, expected):
    assert parse_project_name(value) == expected


@pytest.mark.parametrize("value, expected", [("  SSO ", "SSO"), ("", None), ("N/A", None), ("a  b", "a b")])
def test_text(value, expected):
    assert parse_text(value) == expected


@pytest.mark.parametrize("value", [
    "Hoy nada terminado", "Nada cerrado todavía.", "No milestone closed today.", "Nothing completed today.",
    "Hoy no se completó nada nuevo", "Sin hitos completados hoy.", "Ningún entregable cerrado hoy.", "TBD",
    "Por definir.", "Pendiente de definir", "definir", "Lo vemos mañana", "We'll see tomorrow.", "To be confirmed",
    "Today, nothing new", "not yet",
])
def test_a_text_that_says_nothing_was_done_or_decided_is_null(value):
    assert parse_text(value) is None


@pytest.mark.parametrize("value", [
    "No-code platform launched", "Definir el alcance", "Pendiente revisión cliente", "Nadal tournament app",
    "Nueva web publicada", "Notificaciones push", "Sincronización de datos", "Nordic launch", "Resuelto el #42789",
])
def test_a_text_that_only_starts_like_a_negation_is_kept(value):
    assert parse_text(value) == value


def test_a_project_name_is_never_read_as_nothing():
    assert parse_project_name("Nada Igual") == "Nada Igual" and parse_project_name("TBD") == "TBD"


@pytest.mark.parametrize("token, expected", [("4.500", 4500), ("4,5", 4.5), ("12.300,50", 12300.5), ("1,234.5", 1234.5)])
def test_number_separators(token, expected):
    assert parse_number(token) == expected
