import json
import textwrap

import pytest

from reportx.errors import ReportxError
from reportx.schema import RecordInvalid, load_schema

USER_MODEL = textwrap.dedent(
    """
    from pydantic import BaseModel, ConfigDict
    from reportx.schema import Euros, Status

    class SiteReport(BaseModel):
        model_config = ConfigDict(extra="forbid")
        site: str
        status: Status
        spent: Euros
    """
)
SITE_SCHEMA = {
    "title": "SiteReport",
    "type": "object",
    "properties": {"site": {"type": "string"}, "workers": {"type": ["integer", "null"]}},
    "required": ["site", "workers"],
    "additionalProperties": False,
}


def test_builtin_is_the_default():
    assert load_schema(None).keys[0] == "project_name"
    assert load_schema("builtin").name == "ProjectReport"


def test_user_model_from_module_path(tmp_path, monkeypatch):
    (tmp_path / "site_schema.py").write_text(USER_MODEL)
    monkeypatch.chdir(tmp_path)
    schema = load_schema("site_schema:SiteReport")
    assert schema.keys == ["site", "status", "spent"]
    # the user's model reuses reportx's normalising field types
    assert schema.validate({"site": "Norte", "status": "todo OK", "spent": "4,5k€"}) == {
        "site": "Norte", "status": "Verde", "spent": 4500,
    }


def test_user_model_from_file_path(tmp_path):
    path = tmp_path / "any_name.py"
    path.write_text(USER_MODEL)
    schema = load_schema(f"{path}:SiteReport")
    with pytest.raises(RecordInvalid):
        schema.validate({"site": "Norte"})


def test_json_schema_file(tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(SITE_SCHEMA))
    schema = load_schema(path)
    assert schema.keys == ["site", "workers"]
    assert schema.validate({"workers": 3, "site": "Norte"}) == {"site": "Norte", "workers": 3}
    with pytest.raises(RecordInvalid, match="workers"):
        schema.validate({"site": "Norte", "workers": "three"})


@pytest.mark.parametrize(
    "spec, message",
    [("missing.json", "not found"), ("no_such_module_xyz:Model", "cannot import"), ("json:nothing", "has no"),
     ("json:JSONDecoder", "not a Pydantic model"), ("plainword", "expected")],
)
def test_bad_specs_raise_one_line_errors(spec, message):
    with pytest.raises(ReportxError, match=message):
        load_schema(spec)


def test_invalid_json_schema_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "no-such-type"}}}))
    with pytest.raises(ReportxError, match="not a valid JSON Schema"):
        load_schema(path)
    path.write_text("{not json")
    with pytest.raises(ReportxError, match="not JSON"):
        load_schema(path)
