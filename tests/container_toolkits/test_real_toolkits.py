"""train.py and the inference handler run by the toolkit code the XGBoost 3.0-5 container runs.

- Training: `sagemaker_xgboost_container/training.py` script mode, i.e. sagemaker-containers'
  `training_env()` read from a SageMaker-shaped base folder (config JSON files, channels)
  and `modules.run_module`, which installs the source tarball with pip and runs
  `python -m train` with the toolkit's own arguments and SM_* environment.
- Serving: `sagemaker_xgboost_container/serving.py`, i.e. the legacy Transformer built from
  the module's functions and its Flask Worker, called with Flask's test client: the real
  status codes and content types a client gets, compared with pipelines/local/serving.py's
  emulation, request by request.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import inference
from pipelines.code_assets import code_assets
from pipelines.local import serving

TRAIN = """
import sagemaker_containers.beta.framework as framework

env = framework.training_env()  # sagemaker_xgboost_container.training.main -> train()
framework.modules.run_module(
    env.module_dir, env.to_cmd_args(), env.to_env_vars(), env.module_name, capture_error=False
)
"""

SERVE = """
import importlib.util, json, sys
from sagemaker_containers.beta.framework import transformer, worker

# the container: importlib.import_module(SAGEMAKER_PROGRAM's module) from the code folder;
# by file here, so this checkout's installed `inference` package cannot stand in for it
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location(sys.argv[2], f"{sys.argv[1]}/{sys.argv[2]}.py")
user = importlib.util.module_from_spec(spec)
sys.modules[sys.argv[2]] = user
spec.loader.exec_module(user)
# sagemaker_xgboost_container.serving._user_module_transformer, then main()
if hasattr(user, "transform_fn"):
    t = transformer.Transformer(model_fn=user.model_fn, transform_fn=user.transform_fn)
else:
    t = transformer.Transformer(
        model_fn=user.model_fn,
        input_fn=user.input_fn,
        predict_fn=user.predict_fn,
        output_fn=user.output_fn,
    )
t.initialize()
client = worker.Worker(transform_fn=t.transform, module_name=sys.argv[2]).test_client()
answers = []
for body, content_type, accept in json.loads(sys.argv[3]):
    headers = {"Content-Type": content_type, "Accept": accept}
    r = client.post("/invocations", data=body.encode(), headers=headers)
    answers.append([r.status_code, r.headers["Content-Type"], r.get_data(as_text=True)])
print(json.dumps({"ping": client.get("/ping").status_code, "answers": answers}))
"""

NAIVE = '''
"""A handler written for sagemaker_inference: raises its 4xx, returns bare bytes."""
class RequestError(Exception):
    status_code = 400

def model_fn(model_dir):
    return None

def input_fn(body, content_type):
    if body.startswith("bad"):
        raise RequestError("CSV row 1 has 3 fields")
    return body

def predict_fn(data, model):
    return data

def output_fn(prediction, accept):
    return b"1.0\\n"
'''


def base_folder(root: Path) -> Path:
    base = root / "opt_ml"
    for sub in ("input/config", "input/data", "model", "output/data", "code"):
        (base / sub).mkdir(parents=True)
    return base


def test_train_py_through_the_training_toolkit(prepared: dict[str, Path], tmp_path: Path) -> None:
    base = base_folder(tmp_path)
    for channel in ("train", "validation", "history", "schema"):
        shutil.copytree(prepared[channel], base / "input" / "data" / channel)
    code = base / "input" / "data" / "code"
    code.mkdir()
    (code / "sourcedir.tar.gz").write_bytes(code_assets().training.payload)
    # as SageMaker writes them: every value a string, the sagemaker_* ones JSON-encoded,
    # the submit directory where the definition's code channel puts it
    hyperparameters = {
        "num_round": "40",
        "max_depth": "6",
        "eta": "0.1",
        "early_stopping_rounds": "10",
        "refit": "1",
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": json.dumps(str(code / "sourcedir.tar.gz")),
    }
    config = base / "input" / "config"
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                c: {"TrainingInputMode": "File"}
                for c in ("train", "validation", "history", "schema", "code")
            }
        )
    )
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base), "OMP_NUM_THREADS": "2"}
    run = subprocess.run(
        [sys.executable, "-c", TRAIN], env=env, capture_output=True, text=True, check=False
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert "validation-mape=" in log
    saved = {p.relative_to(base / "model").as_posix() for p in (base / "model").rglob("*")}
    assert {"xgboost-model.ubj", "feature_schema.json", "code/inference.py"} <= saved


@pytest.fixture(scope="module")
def requests_(prepared: dict[str, Path]) -> list[list[str]]:
    rows = pd.read_csv(prepared["batch"] / "batch.csv", header=None).iloc[:3, 2:]
    good = rows.to_csv(header=False, index=False, na_rep="")
    instance = json.dumps({"instances": [{"Promo": 1}]})
    return [
        [good, "text/csv", "text/csv"],
        [good, "text/csv", "application/json"],
        [good, "text/csv", "*/*"],
        ["1,2,3\n", "text/csv", "text/csv"],
        ["", "text/csv", "text/csv"],
        [instance, "application/json", "application/json"],
        ["x", "application/x-npy", "text/csv"],
        [good, "text/csv", "application/xml"],
    ]


def serve(base: Path, code: Path, module: str, requests_: list[list[str]]) -> dict:
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base)}
    run = subprocess.run(
        [sys.executable, "-c", SERVE, str(code), module, json.dumps(requests_)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict = json.loads(run.stdout.splitlines()[-1])
    return result


def test_the_handler_through_the_serving_toolkit(
    prepared: dict[str, Path], tmp_path: Path, requests_: list[list[str]]
) -> None:
    base = base_folder(tmp_path)
    shutil.rmtree(base / "model")
    shutil.copytree(prepared["model"], base / "model")
    code = base / "model" / "code"  # where train.py puts the handler in the artifact
    code.mkdir(exist_ok=True)
    shutil.copy(Path(inference.__file__), code / "inference.py")
    real = serve(base, code, "inference", requests_)
    assert real["ping"] == 200
    statuses = [status for status, _, _ in real["answers"]]
    assert statuses == [200, 200, 200, 400, 400, 400, 415, 406]
    assert real["answers"][0][1] == "text/csv; charset=utf-8"
    assert json.loads(real["answers"][3][2]) == {
        "error": "CSV row 1 has 3 fields; the model expects 45"
    }
    # the local emulation answers exactly as the real toolkit does
    model = inference.model_fn(str(prepared["model"]))
    for (body, content_type, accept), answer in zip(requests_, real["answers"], strict=True):
        local = serving.invoke(inference, model, body.encode(), content_type, accept)
        assert [local.status, local.content_type, local.body.decode()] == answer


def test_a_handler_that_raises_gets_a_500_in_the_real_toolkit(tmp_path: Path) -> None:
    base = base_folder(tmp_path)
    (base / "code" / "naive.py").write_text(NAIVE)
    requests_ = [["bad", "text/csv", "text/csv"], ["1,2", "text/csv", "text/csv"]]
    real = serve(base, base / "code", "naive", requests_)
    naive = ModuleType("naive")
    exec(compile(NAIVE, "naive.py", "exec"), naive.__dict__)  # the test's own module
    for (body, content_type, accept), answer in zip(requests_, real["answers"], strict=True):
        local = serving.invoke(naive, None, body.encode(), content_type, accept)
        assert [local.status, local.content_type, local.body.decode()] == answer
    assert [a[:2] for a in real["answers"]] == [
        [500, "text/html; charset=utf-8"],
        [200, "text/html; charset=utf-8"],
    ]


ROUTES = """
import json, sys
from sagemaker_containers.beta.framework import worker

client = worker.Worker(transform_fn=lambda: None, module_name="m").test_client()
answers = []
for method, path in json.loads(sys.argv[1]):
    r = client.open(path, method=method)
    allow = sorted((r.headers.get("Allow") or "").split(", "))  # Werkzeug's order is a set's
    answers.append([r.status_code, r.headers["Content-Type"], allow, r.get_data(as_text=True)])
print(json.dumps(answers))
"""


def test_the_local_http_server_routes_as_the_real_worker(
    prepared: dict[str, Path], tmp_path: Path, requests_: list[list[str]]
) -> None:
    """pipelines.deploy serve / invoke --local over HTTP: the Worker's answers to /ping, a
    wrong method and an unknown path, and the handler's answers, byte for byte."""
    import http.client
    import tarfile

    from pipelines.local import http_server

    routes = [["GET", "/ping"], ["GET", "/invocations"], ["POST", "/ping"], ["GET", "/models"]]
    run = subprocess.run(
        [sys.executable, "-c", ROUTES, json.dumps(routes)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    real = json.loads(run.stdout.splitlines()[-1])
    artifact = tmp_path / "model.tar.gz"
    with tarfile.open(artifact, "w:gz") as tar:
        for child in sorted(prepared["model"].iterdir()):
            tar.add(child, arcname=child.name)
        tar.add(Path(inference.__file__), arcname="code/inference.py")
    model = inference.model_fn(str(prepared["model"]))
    with http_server.serve(artifact) as url:
        host, port = url.removeprefix("http://").split(":")

        def call(method: str, path: str, body: str = "", headers: dict | None = None) -> list:
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            connection.request(method, path, body=body.encode() or None, headers=headers or {})
            r = connection.getresponse()
            allow = sorted((r.getheader("Allow") or "").split(", "))
            answer = [r.status, r.getheader("Content-Type"), allow, r.read().decode()]
            connection.close()
            return answer

        assert [call(method, path) for method, path in routes] == real
        for body, content_type, accept in requests_:
            status, type_, _, text = call(
                "POST", "/invocations", body, {"Content-Type": content_type, "Accept": accept}
            )
            local = serving.invoke(inference, model, body.encode(), content_type, accept)
            assert [status, type_, text] == [local.status, local.content_type, local.body.decode()]
