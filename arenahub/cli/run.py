"""``arenahub run``: settle the settings, check the machine, then start JupyterHub."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from arenahub.core.yamlconf import ConfigError, validate_yaml
from arenahub.hub_config.settings import SETTINGS_ENV, HubSettings

console = Console(stderr=True)


def hub_config_file() -> Path:
    """Path of jupyterhub_config.py, in a source checkout or an installed package."""
    import arenahub.hub_config as hc

    return Path(hc.__file__).parent / "jupyterhub_config.py"


def build_settings(config: Path | None, **overrides) -> HubSettings:
    """Settings from the YAML file (if any) with non-None command-line values on top."""
    base = validate_yaml(HubSettings, config.read_text(), str(config)) if config else HubSettings()
    data = base.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    return HubSettings.model_validate(data)


def demo_credentials(hub_dir: Path) -> dict[str, str]:
    """Passwords of the demo users, created once and kept (mode 0600) so reruns agree."""
    path = hub_dir / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {"admin": secrets.token_urlsafe(9), "demo": secrets.token_urlsafe(9)}
    hub_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.write_text(json.dumps(creds))
    return creds


def missing_tools() -> list[str]:
    problems = []
    if not shutil.which("bwrap"):
        problems.append("bubblewrap (bwrap) is not installed: `make run` installs it, or apt-get install bubblewrap")
    chp = Path(sys.executable).parent / "configurable-http-proxy"
    if not chp.exists() and not shutil.which("configurable-http-proxy"):
        problems.append("configurable-http-proxy is missing: `make run` installs it with npm into the venv")
    return problems


def database_problem(db_url: str) -> str | None:
    """Why the hub cannot use ``db_url`` (None when it connects), checked before JupyterHub starts.

    JupyterHub's own message for an unreachable database suggests ``upgrade-db``, which misleads;
    this says what failed and where.
    """
    if db_url.startswith("sqlite"):
        return None
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(db_url, connect_args={"connect_timeout": 10})
    except Exception as e:  # noqa: BLE001 - any bad URL is reported the same way
        return f"the database URL {db_url!r} is not usable: {e}"
    try:
        with engine.connect():
            return None
    except Exception as e:  # noqa: BLE001
        reason = str(getattr(e, "orig", e)).strip().splitlines()[0]
        safe = engine.url.render_as_string(hide_password=True)
        return f"cannot reach the hub database at {safe}: {reason}. Check --db-url / db_url and that the server runs."
    finally:
        engine.dispose()


def with_demo(settings: HubSettings) -> HubSettings:
    """Demo mode: an admin and a demo user, the demo competition, and a starter home."""
    from .demo import prepare_demo

    creds = demo_credentials(settings.hub_dir)
    made, skeleton = prepare_demo(settings.data_dir)
    gateway = settings.gateway.model_copy(update={"environment": {
        # the gateway creates the competition (and registers its dataset) at start unless it exists
        "ARENAHUB_GATEWAY_COMPETITION_FILES": json.dumps([str(made.yaml_path)]),
        **settings.gateway.environment,
    }})
    return settings.model_copy(update={
        "seed_users": {**creds, **settings.seed_users},
        "admin_users": sorted({*settings.admin_users, "admin"}),
        "home_skeleton": settings.home_skeleton or skeleton,
        "gateway": gateway,
    })


def run_hub(*, config, data_dir, ip, port, db_url, demo) -> int:
    try:
        settings = build_settings(config, data_dir=data_dir, ip=ip, port=port, db_url=db_url,
                                  demo=demo or None)
    except ConfigError as e:
        for problem in e.problems:
            console.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
        return 2
    problems = missing_tools()
    if db_problem := database_problem(settings.resolved_db_url()):
        problems.append(db_problem)
    if problems:
        for p in problems:
            console.print(f"[red]✗[/red] {p}")
        return 2
    if settings.demo:
        settings = with_demo(settings)
        creds = demo_credentials(settings.hub_dir)
    settings.hub_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings_file = settings.hub_dir / "settings.json"
    settings_file.write_text(settings.model_dump_json(indent=2))
    env = {**os.environ, SETTINGS_ENV: str(settings_file), "ARENAHUB_DATA_DIR": str(settings.data_dir)}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    if settings.authenticator == "dummy":
        console.print("[yellow]![/yellow] authenticator: dummy lets anyone sign in as anyone with any password; "
                      "use it for tests only (the default, accounts, has sign-up with approval).", soft_wrap=True)
    url = f"http://{settings.ip}:{settings.port}/"
    lines = [f"arenahub is starting at [bold]{url}[/bold]", f"data: {settings.data_dir}"]
    if settings.demo:
        lines += ["", "Sign in as the participant:  [bold]demo[/bold] / " + creds["demo"],
                  "Sign in as the organiser:    [bold]admin[/bold] / " + creds["admin"],
                  "New users sign up at /hub/signup; the admin approves them at /hub/authorize."]
    console.print(Panel("\n".join(lines), title="arenahub", expand=False))
    # Become JupyterHub (exec), so signals from a service manager or Ctrl-C reach it directly
    # and stopping `arenahub run` stops the hub, its proxy and its services cleanly.
    os.chdir(settings.hub_dir)
    # Started in the background by a non-interactive shell (`arenahub run &`, CI), SIGINT comes in
    # ignored and every child would inherit that: JupyterHub stops its proxy and services with
    # SIGINT and would wait out its timeouts (~30 s) for each. A server must answer SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", str(hub_config_file())], env)
