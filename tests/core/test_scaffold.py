"""tandem plugin new: the generated package installs with pip, loads, and its test passes."""
import os
import subprocess
import sys


def test_generated_plugin_installs_and_its_own_test_passes(kernel_app, tmp_path):
    result = kernel_app.test_cli_runner().invoke(args=["plugin", "new", "garden", "--path", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / "tandem-garden"
    for room in ("__init__.py", "models.py", "schemas.py", "services.py", "api.py", "views.py",
                 "hooks.py", "records.py", "templates/garden/about.html",
                 "migrations/versions/garden_0001_first_tables.py"):
        assert (package / "tandem_garden" / room).exists(), room

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(package)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.getcwd()])}
    env.pop("TEST_DATABASE_URL", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(package / "tests")], cwd=package, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_bad_or_taken_names_are_refused(kernel_app, tmp_path):
    runner = kernel_app.test_cli_runner()
    assert "lower-case" in runner.invoke(args=["plugin", "new", "Bad-Name", "--path", str(tmp_path)]).output
    assert "already exists" in runner.invoke(args=["plugin", "new", "crm", "--path", str(tmp_path)]).output
