"""Container tests with a real Docker engine (marker ``docker``).

They build the image from this checkout (base image from ``ISLES2018_BASE_IMAGE``, default
``python:3.11-slim``), train one ``ci`` epoch inside it on a phantom TRAINING folder, and predict
a phantom TESTING folder offline with read-only input, comparing with ``isles2018 predict`` run
outside. Without an engine they skip, except under CI where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.data.io import read_mask
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality
from isles2018.submission.checks import validate_submission

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("docker")]

REPO = Path(__file__).resolve().parents[1]
TAG = "isles2018:test"
BAKED_TAG = "isles2018:test-baked"


@pytest.fixture(scope="module")
def client():
    try:
        import docker

        engine = docker.from_env()
        engine.ping()
    except Exception as error:  # no SDK socket, engine down, permission denied
        message = f"no Docker engine reachable ({type(error).__name__}: {error})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must start one (see .ci/run)")
        pytest.skip(message)
    return engine


def _run(client, image: str, command: list[str] | None = None, **options) -> tuple[int, str]:
    container = client.containers.run(image, command, detach=True, **options)
    try:
        status = container.wait(timeout=900)["StatusCode"]
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    return status, logs


@pytest.fixture(scope="module")
def image(client) -> str:
    subprocess.run(["make", "wheelhouse"], cwd=REPO, check=True, capture_output=True)
    base = os.environ.get("ISLES2018_BASE_IMAGE", "python:3.11-slim")
    client.images.build(path=str(REPO), tag=TAG, buildargs={"BASE_IMAGE": base}, rm=True)
    return TAG


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("container") / "phantom"
    result = CliRunner().invoke(
        main,
        [
            "phantom",
            str(root),
            "--cases",
            "8",
            "--test-cases",
            "3",
            "--seed",
            "11",
            "--profile",
            "ci",
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    return root


def _writable(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # the container's user is not root
    return path


@pytest.fixture(scope="module")
def trained_run(client, image: str, phantom: Path, tmp_path_factory) -> Path:
    runs = _writable(tmp_path_factory.mktemp("runs"))
    status, logs = _run(
        client,
        image,
        [
            "train",
            "/data/TRAINING",
            "--out",
            "/runs/ci",
            "--config",
            "ci",
            "--epochs",
            "1",
            "--fold",
            "0",
            "--device",
            "cpu",
        ],
        volumes={
            str(phantom): {"bind": "/data", "mode": "ro"},
            str(runs): {"bind": "/runs", "mode": "rw"},
        },
        network_mode="none",
    )
    assert status == 0, logs
    return runs / "ci"


def test_help_non_root_and_size(client, image: str) -> None:
    status, logs = _run(client, image, ["--help"], network_mode="none")
    assert status == 0 and "predict" in logs and "train" in logs
    status, logs = _run(client, image, entrypoint=["id", "-u"])
    assert status == 0 and logs.strip() != "0"
    attributes = client.images.get(image).attrs
    assert attributes["Config"]["User"] == "app"
    assert attributes["Config"]["Entrypoint"] == ["python3", "/opt/app/entrypoint.py"]
    assert attributes["Size"] < 1.5e9


def test_training_in_container_writes_a_run(trained_run: Path) -> None:
    fold = trained_run / "fold_0"
    for name in ("checkpoint.safetensors", "checkpoint.json", "metrics.jsonl", "loss_curve.png"):
        assert (fold / name).is_file(), name
    assert (trained_run / "splits.json").is_file()


def _masks(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: read_mask(p) for p in sorted(folder.glob("SMIR.*.nii"))}


def test_predictions_match_the_host(client, image, trained_run, phantom, tmp_path) -> None:
    testing = phantom / "TESTING"
    out = _writable(tmp_path / "container")
    status, logs = _run(
        client,
        image,
        ["predict", "/input", "--weights", "/weights", "--out", "/output", "--device", "cpu"],
        volumes={
            str(testing): {"bind": "/input", "mode": "ro"},
            # Only fold 0 was trained: name it (a run folder missing folds is refused).
            str(trained_run / "fold_0"): {"bind": "/weights", "mode": "ro"},
            str(out): {"bind": "/output", "mode": "rw"},
        },
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": ""},
    )
    assert status == 0, logs
    host = tmp_path / "host"
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(testing),
            "--weights",
            str(trained_run / "fold_0"),
            "--out",
            str(host),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    inside, outside = _masks(out), _masks(host)
    assert sorted(inside) == sorted(outside) and len(inside) == 3
    for name in inside:
        np.testing.assert_array_equal(inside[name], outside[name])
    assert validate_submission(out, discover_cases(testing)).ok


@pytest.fixture(scope="module")
def baked(client, image: str, trained_run: Path, tmp_path_factory) -> str:
    context = tmp_path_factory.mktemp("bake")
    shutil.copytree(trained_run / "fold_0", context / "run" / "fold_0")  # the fold trained
    (context / "Dockerfile").write_text(
        f"FROM {image}\nUSER root\nRUN rm -rf /opt/app/weights && mkdir /opt/app/weights\n"
        "COPY run/ /opt/app/weights/\nUSER app\n"
    )
    client.images.build(path=str(context), tag=BAKED_TAG, rm=True)
    return BAKED_TAG


def test_default_entry_with_baked_weights(client, baked: str, phantom: Path, tmp_path) -> None:
    testing = phantom / "TESTING"
    out = _writable(tmp_path / "out")
    status, logs = _run(
        client,
        baked,
        volumes={
            str(testing): {"bind": "/input", "mode": "ro"},
            str(out): {"bind": "/output", "mode": "rw"},
        },
        environment={"ISLES_METHOD_NAME": "PhantomTest"},
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": ""},
    )
    assert status == 0, logs
    cases = discover_cases(testing)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"SMIR.PhantomTest.{c.smir_id(Modality.MTT)}.nii" for c in cases
    )
    assert validate_submission(out, cases).ok


def test_broken_case_fails_after_writing_the_others(client, baked, phantom, tmp_path) -> None:
    testing = tmp_path / "TESTING"
    shutil.copytree(phantom / "TESTING", testing)
    cases = discover_cases(testing)
    cbf = cases[1].path(Modality.CBF)
    cbf.write_bytes(cbf.read_bytes()[:1000])
    out = _writable(tmp_path / "out")
    status, logs = _run(
        client,
        baked,
        volumes={
            str(testing): {"bind": "/input", "mode": "ro"},
            str(out): {"bind": "/output", "mode": "rw"},
        },
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": ""},
    )
    assert status == 1, logs
    assert "case_2" in logs and "CT_CBF" in logs
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(
        f"SMIR.GANSeg.{c.smir_id(Modality.MTT)}.nii" for c in (cases[0], cases[2])
    )


@pytest.mark.parametrize("mount", ["absent", "read-only"])
def test_an_unusable_output_is_one_line_before_any_case(client, baked, phantom, tmp_path, mount):
    volumes = {str(phantom / "TESTING"): {"bind": "/input", "mode": "ro"}}
    if mount == "read-only":
        volumes[str(_writable(tmp_path / "out"))] = {"bind": "/output", "mode": "ro"}
    status, logs = _run(
        client, baked, volumes=volumes, network_mode="none", read_only=True, tmpfs={"/tmp": ""}
    )
    assert status == 1, logs
    assert "Traceback" not in logs and "predict:" not in logs  # no case was started
    assert logs.strip().splitlines()[-1].startswith("Error: /output"), logs
    if mount == "read-only":
        assert list((tmp_path / "out").iterdir()) == []


def test_an_isles24_folder_is_predicted_offline_on_the_ncct_grid(client, baked, tmp_path) -> None:
    from isles2018.data.grid import grid_differences
    from isles2018.phantom.generate import Request, generate_dataset

    tree = tmp_path / "isles24"
    generate_dataset(
        Request(out=tree, cases=1, test_cases=2, seed=5, profile="ci", layout="isles24"),
        progress=False,
    )
    testing = tree / "TESTING"
    out = _writable(tmp_path / "out")
    status, logs = _run(
        client,
        baked,
        volumes={
            str(testing): {"bind": "/input", "mode": "ro"},
            str(out): {"bind": "/output", "mode": "rw"},
        },
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": ""},
    )
    assert status == 0, logs
    assert "ISLES'24 layout" in logs
    cases = discover_cases(testing)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{c.case_id}.nii.gz" for c in cases)
    for case in cases:
        assert grid_differences(out / f"{case.case_id}.nii.gz", case.path(Modality.CT)) == []


def test_entrypoint_defaults() -> None:
    sys.path.insert(0, str(REPO))
    try:
        import entrypoint
    finally:
        sys.path.pop(0)
    assert entrypoint.default_arguments()[:4] == ["predict", "/input", "--out", "/output"]
