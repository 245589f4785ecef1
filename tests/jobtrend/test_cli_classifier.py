"""`jobtrend classifier train|evaluate`, `jobtrend classify --explain`, and the classifier inside `analyze` and
`init`."""

import json

import pytest

from tests.analysis.factories import add_posting, add_source
from tests.analysis.test_role_rules import ML_BODY, SWE_BODY
from tests.jobtrend.test_config import invoke_cli, write_config


@pytest.fixture
def cli(tmp_path):
    """Invoke the CLI with a config folder whose model file is ``model`` (default: the session's model)."""

    def invoke(args, database_url=None, model=None):
        config_dir = write_config(tmp_path / "config")
        with (config_dir / "jobtrend.toml").open("a") as fh:
            fh.write(f"\n[classifier]\nmodel = {json.dumps(str(model))}\n")
        return invoke_cli(config_dir, args, database_url)

    return invoke


def test_train_bundled_then_evaluate(cli, tmp_path, role_model):
    model = tmp_path / "models" / "roles.npz"
    trained = cli(["classifier", "train", "--bundled"], model=model)
    assert trained.exit_code == 0, trained.output
    assert f"model {role_model.version} saved to {model}" in trained.output and model.exists()
    evaluated = cli(["classifier", "evaluate", "--draws", "100", "--reliability", str(tmp_path / "r.png")],
                    model=model)
    assert evaluated.exit_code == 0, evaluated.output
    assert "frozen test set" in evaluated.output and "611 postings" in evaluated.output
    assert "title-only rule" in evaluated.output and "weak rules" in evaluated.output
    assert f"model {role_model.version}" in evaluated.output
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    dev = cli(["classifier", "evaluate", "--set", "dev", "--draws", "100"], model=model)
    assert dev.exit_code == 0 and "dev set" in dev.output and "300 postings" in dev.output


def test_evaluate_reports_an_unwritable_diagram_in_one_line(cli, tmp_path, role_model_path):
    result = cli(["classifier", "evaluate", "--draws", "100", "--reliability",
                  str(tmp_path / "missing" / "r.png")], model=role_model_path)
    assert result.exit_code == 1 and "cannot write" in result.output and "Traceback" not in result.output


def test_train_on_a_nearly_empty_database_learns_from_the_bundled_hand_labels(cli, engine, db_url, tmp_path):
    add_posting(engine, add_source(engine), title="ML Engineer", text=ML_BODY)
    result = cli(["classifier", "train"], db_url, model=tmp_path / "m.npz")
    assert result.exit_code == 0, result.output
    assert "labelled by hand" in result.output and "1 by the weak rules" in result.output
    assert (tmp_path / "m.npz").exists()


def test_analyze_classifies_and_explain_shows_the_evidence(cli, engine, db_url, role_model_path):
    source = add_source(engine)
    ml = add_posting(engine, source, title="Software Engineer", text=ML_BODY)
    add_posting(engine, source, title="Software Engineer", text=SWE_BODY)
    analysed = cli(["analyze"], db_url, model=role_model_path)
    assert analysed.exit_code == 0, analysed.output
    assert "classified 2 postings: 2 AI roles (ai_swe 1, ml_engineer 1)" in analysed.output
    explained = cli(["classify", "--explain", str(ml)], db_url, model=role_model_path)
    assert explained.exit_code == 0, explained.output
    assert "verdict: ml_engineer (probability" in explained.output
    assert "towards ml_engineer:" in explained.output and "towards ai_swe:" in explained.output
    again = cli(["classify"], db_url, model=role_model_path)
    assert "classified 0 postings" in again.output


def test_explain_an_unknown_posting_is_a_clear_error(cli, engine, db_url, role_model_path):
    result = cli(["classify", "--explain", "999999"], db_url, model=role_model_path)
    assert result.exit_code == 1 and "no posting with id 999999" in result.output


def test_analyze_without_a_model_says_how_to_get_one(cli, engine, db_url, tmp_path):
    result = cli(["analyze"], db_url, model=tmp_path / "missing.npz")
    assert result.exit_code == 1
    assert "no role model" in result.output and "jobtrend classifier train" in result.output


def test_init_trains_the_default_model_once(cli, empty_db_url, tmp_path, role_model):
    model = tmp_path / "fresh" / "roles.npz"
    first = cli(["init"], empty_db_url, model=model)
    assert first.exit_code == 0, first.output
    assert f"role model: trained {role_model.version} from the bundled corpus" in first.output and model.exists()
    assert first.output.startswith(f"no role model at {model}: training one")  # said before the wait, not after
    second = cli(["init"], empty_db_url, model=model)
    assert "(kept;" in second.output and "training one" not in second.output
