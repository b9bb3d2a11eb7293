"""The package as users get it: one abi3 manylinux wheel that pip installs into a fresh
virtualenv without compiling anything, with the metadata PyPI shows; and an sdist that holds
every crate a source build needs."""

import email
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from conftest import ROOT

WHEELS = ROOT / "target" / "wheels"


def the_wheel():
    wheels = sorted(WHEELS.glob("aws_batch_utils-*.whl"))
    assert len(wheels) == 1, f"one wheel in {WHEELS} (cargo xtask test builds it): {wheels}"
    return wheels[0]


def test_the_wheel_is_one_abi3_manylinux_wheel_for_python_3_9_and_later():
    name = the_wheel().name
    _, version, python, abi, platform = name[: -len(".whl")].split("-")
    assert (python, abi) == ("cp39", "abi3"), name
    assert platform.startswith("manylinux_"), name
    with zipfile.ZipFile(the_wheel()) as wheel:
        names = wheel.namelist()
        assert "aws_batch_utils/__init__.py" in names
        assert "aws_batch_utils/aws_batch_utils.abi3.so" in names
        assert "aws_batch_utils/ray.py" in names, "the Ray Data sink beside the compiled module"
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(wheel.read(metadata_name))
    assert metadata["Name"] == "aws-batch-utils"
    assert metadata["Version"] == version
    assert metadata["Requires-Python"] == ">=3.9"
    assert metadata["License"] == "MIT OR Apache-2.0"
    assert metadata["Summary"], "a one-line summary"
    assert metadata["Description-Content-Type"].startswith("text/markdown")
    assert "flush_payloads()" in metadata.get_payload(), "the README as the long description"
    assert "Programming Language :: Rust" in metadata.get_all("Classifier")


def test_pip_installs_the_wheel_into_a_fresh_virtualenv_and_it_works_there(tmp_path):
    env_dir = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    # No Rust on the PATH: a wheel that needed compiling would fail here.
    clean = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-index", "--no-deps", "--only-binary", ":all:", str(the_wheel())],
        check=True, env=clean, timeout=120,
    )
    check = (
        "import aws_batch_utils as abu\n"
        "q = abu.SQSBatchDispatcher('http://127.0.0.1:9/000000000000/q',"
        " endpoint_url='http://127.0.0.1:9', region_name='us-east-1',"
        " aws_access_key_id='k', aws_secret_access_key='s')\n"
        "payload = {'x': float('nan')}\n"
        "try:\n"
        "    q.submit_payload(payload)\n"
        "except abu.SubmitError as e:\n"
        "    assert e.payload is payload\n"
        "    print('refused', e.field)\n"
        "print(abu.__file__)\n"
    )
    out = subprocess.run(
        [str(python), "-c", check], check=True, env=clean, capture_output=True, text=True,
        cwd=tmp_path, timeout=60,
    ).stdout
    assert out.startswith("refused"), out
    assert str(env_dir) in out, f"imported from the fresh virtualenv: {out}"


def maturin():
    found = os.path.join(os.path.dirname(sys.executable), "maturin")
    if not os.path.exists(found):
        pytest.fail(f"maturin is not beside {sys.executable} (cargo xtask installs it there)")
    return found


def test_the_sdist_holds_every_crate_the_package_is_built_from(tmp_path):
    subprocess.run(
        [maturin(), "sdist", "--manifest-path", str(ROOT / "crates/batch-py/Cargo.toml"),
         "--out", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )
    (sdist,) = tmp_path.glob("aws_batch_utils-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("pyproject.toml", "PKG-INFO", "Cargo.toml", "Cargo.lock",
                   "crates/batch-py/Cargo.toml", "crates/batch-py/src/lib.rs",
                   "crates/batch-py/README.md", "python/aws_batch_utils/__init__.py",
                   "python/aws_batch_utils/ray.py"):
        assert needed in names, needed
    # Every crate the package depends on, with its sources.
    for crate in ("batch-core", "batch-sqs", "batch-kinesis", "batch-dynamodb",
                  "batch-cloudwatch", "batch-firehose", "batch-eventbridge", "batch-sns",
                  "batch-logs", "batch-message", "batch-lambda"):
        assert f"crates/{crate}/Cargo.toml" in names, crate
        assert f"crates/{crate}/src/lib.rs" in names, crate
