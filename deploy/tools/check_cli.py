"""The deployment files against the code: run by deploy/check with the workspace's .venv/bin/python.

    .venv/bin/python deploy/tools/check_cli.py FACTS.json

FACTS.json comes from deploy/tools/check_manifests.py. Three checks, with the real packages imported:
- every `planeco …` command line (Dockerfile CMDs, compose commands, Kubernetes containers) parses with the
  image's entry point, deploy/docker/planeco, which mounts the services' own Typer apps: a renamed
  sub-command or option fails here;
- every container environment builds the service's real settings class (PLANECO_<SERVICE>_…) in
  production mode, with stand-ins for the values that come from secrets: an unknown or misspelt
  variable, or a value the settings refuse, fails here;
- every CronJob runs a job of the service's registry that needs no argument, on a valid schedule.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer.main
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from pydantic_settings.exceptions import SettingsError

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "levers": ("planeco_levers.settings", "LeversSettings"),
    "diagnostic": ("planeco_diagnostic.settings", "DiagnosticSettings"),
    "actions": ("planeco_actions.settings", "ActionsSettings"),
    "gateway": ("planeco_gateway.settings", "GatewaySettings"),
}
STAND_INS = {
    "<secret internal-secret>": "k8s-stand-in-" + "0" * 40,
    **{
        f"<secret {s}-database-url>": f"postgresql+asyncpg://u:p@db.invalid:5432/planeco_{s}"
        for s in SETTINGS
    },
}


def load_entry_point() -> Any:
    path = ROOT / "deploy" / "docker" / "planeco"
    loader = importlib.machinery.SourceFileLoader("planeco_image_entry", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return typer.main.get_command(module.build())


def check_command(root: Any, argv: list[str]) -> str | None:
    """Walk the command tree as the CLI would, then let the leaf command parse its options.

    Duck-typed: Typer builds on Click (or, in recent releases, on its own copy of it)."""
    if argv[:1] != ["planeco"]:
        return f"does not run the planeco entry point: {argv}"
    command = root
    path = ["planeco"]
    tokens = list(argv[1:])
    while hasattr(command, "list_commands"):
        if not tokens:
            return f"`{' '.join(argv)}` stops at a command group"
        name = tokens.pop(0)
        sub = command.get_command(command.context_class(command), name)
        if sub is None:
            return f"`{' '.join(path)}` has no sub-command {name!r}"
        command, path = sub, [*path, name]
    try:
        command.make_context(" ".join(path), tokens)
    except Exception as exc:
        if not hasattr(exc, "format_message"):
            raise
        return f"`{' '.join(argv)}`: {exc.format_message()}"
    return None


def check_environment(service: str, env: dict[str, str]) -> list[str]:
    module, name = SETTINGS[service]
    settings_class: type[BaseSettings] = getattr(importlib.import_module(module), name)
    prefix = f"PLANECO_{service.upper()}_"
    fields = set(settings_class.model_fields)
    problems = []
    own = {}
    for key, value in env.items():
        if not key.startswith("PLANECO_"):
            continue
        if key.startswith(prefix):
            if key.removeprefix(prefix).lower() not in fields:
                problems.append(f"{key} is not a setting of {name}")
            own[key] = STAND_INS.get(value, value)
        elif not any(key.startswith(f"PLANECO_{other.upper()}_") for other in SETTINGS):
            problems.append(f"{key} belongs to no service")
    saved = {k: v for k, v in os.environ.items() if k.startswith("PLANECO_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(own)
    try:
        settings = settings_class()
        if settings.environment.value != "production":
            problems.append(f"{name} does not run in production mode")
    except (ValidationError, SettingsError) as exc:
        problems.append(f"{name} refuses this environment: {exc}")
    finally:
        for key in own:
            os.environ.pop(key, None)
        os.environ.update(saved)
    return problems


JOBS = {service: (f"planeco_{service}.jobs", "JOBS") for service in ("levers", "diagnostic", "actions")}


def check_cronjob(service: str, job_name: str, schedule: str) -> list[str]:
    """The CronJob's job exists in the service's registry, can run unattended, and its schedule is one
    the scheduler loop would accept too, the job's default (what `scheduler` runs in compose)."""
    from planeco_shared.jobs.schedule import parse_schedule

    module, name = JOBS[service]
    registry = getattr(importlib.import_module(module), name)
    job = registry.get(job_name)
    if job is None:
        return [f"{service} has no job {job_name!r}"]
    problems = [] if job.runs_unattended else [f"job {job_name} needs arguments: it cannot be scheduled"]
    try:
        parse_schedule(schedule, where=f"job {job_name}")
    except ValueError as exc:
        problems.append(str(exc))
    if job.schedule is not None and schedule != job.schedule:
        problems.append(f"schedule {schedule!r} is not the job's default {job.schedule!r} ({module})")
    return problems


def unscheduled_jobs(cronjobs: list[dict[str, Any]]) -> list[str]:
    """Every job with a default schedule has a CronJob: Kubernetes runs nothing else on its own."""
    covered = {(item["service"], item["job"]) for item in cronjobs}
    problems = []
    for service, (module, name) in JOBS.items():
        registry = getattr(importlib.import_module(module), name)
        for job in registry:
            if job.schedule is not None and (service, job.name) not in covered:
                problems.append(f"{service}: job {job.name} ({job.schedule}) has no CronJob in deploy/base")
    return problems


def main(argv: list[str]) -> int:
    facts: dict[str, Any] = json.loads(Path(argv[0]).read_text())
    root = load_entry_point()
    problems = []
    for item in facts["commands"]:
        problem = check_command(root, item["argv"])
        if problem:
            problems.append(f"{item['where']}: {problem}")
    for item in facts["environments"]:
        problems += [f"{item['where']}: {p}" for p in check_environment(item["service"], item["env"])]
    for item in facts.get("cronjobs", []):
        problems += [
            f"{item['where']}: {p}" for p in check_cronjob(item["service"], item["job"], item["schedule"])
        ]
    problems += unscheduled_jobs(facts.get("cronjobs", []))
    for problem in problems:
        sys.stderr.write(f"ERROR {problem}\n")
    if problems:
        return 1
    sys.stdout.write(
        f"{len(facts['commands'])} command lines parse with the real CLI; "
        f"{len(facts['environments'])} container environments load the real settings in production mode; "
        f"{len(facts.get('cronjobs', []))} CronJobs run real jobs on valid schedules\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
