import pytest

from reportx.errors import ReportxError
from reportx.train.config import ALL_LINEAR, TrainConfig, load_config, parse_overrides


def test_defaults_without_a_file():
    config = load_config(None)
    assert config.base_model == "default"
    assert config.target_modules == ALL_LINEAR


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("lora_r: 8\nlearning_rate: 1.0e-4\nschema: my_mod:Report\n")
    config = load_config(path, ["lora_r=4", "target_modules=[q_proj, v_proj]", "val_file=null"])
    assert config.lora_r == 4
    assert config.learning_rate == 1e-4
    assert config.target_modules == ["q_proj", "v_proj"]
    assert config.val_file is None
    assert config.schema == "my_mod:Report"
    assert config.to_dict()["schema"] == "my_mod:Report"


def test_committed_default_config_loads():
    config = load_config(__import__("pathlib").Path(__file__).parents[2] / "configs" / "default.yaml")
    assert isinstance(config, TrainConfig)
    assert config.base_model == "default" and config.output_dir.as_posix() == "runs/default"
    # the bundled adapter ships the config it was trained with: the two must not drift apart
    bundled = __import__("pathlib").Path(__file__).parents[2] / "src/reportx/data/adapters/default/train_config.yaml"
    assert load_config(bundled) == config
    assert config.answer == "quotes"  # the bundled adapter quotes the report


@pytest.mark.parametrize(
    "text, message",
    [("lora_r: 0\n", "lora_r"), ("no_such_key: 1\n", "no_such_key"), ("- a list\n", "mapping"), ("a: [\n", "YAML")],
)
def test_bad_configs_say_why(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ReportxError, match=message):
        load_config(path)


def test_missing_config_file():
    with pytest.raises(ReportxError, match="not found"):
        load_config(__import__("pathlib").Path("nope.yaml"))


def test_override_needs_key_and_value():
    assert parse_overrides(["a=1", "b=x y", "c="]) == {"a": 1, "b": "x y", "c": None}
    with pytest.raises(ReportxError, match="key=value"):
        parse_overrides(["novalue"])
