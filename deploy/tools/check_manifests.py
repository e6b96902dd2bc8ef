"""Offline checks of the deployment files, beyond what the JSON schemas can say. Run by deploy/check.

    python deploy/tools/check_manifests.py FACTS_OUT RENDERED.yaml...

- docker-compose.yml: Compose interpolation (the required secrets really are required), the interpolated file
  against the Compose Specification schema, then the structure: depends_on targets and conditions, build
  targets present in the Dockerfile, bind mounts present, databases created by the init script, only the
  gateway published, hardening on every planeco container, no literal secret.
- Dockerfile: the four targets exist, run as a numeric non-root user, have a HEALTHCHECK and a CMD, and no
  ARG/ENV carries a secret; every COPY source exists; uv is the version dev.py pins.
- Rendered Kubernetes manifests (kubectl kustomize output): for each service a Deployment (probes on /healthz
  and /readyz, resources, non-root, read-only root filesystem), a Service whose selector and port match it,
  a migration Job running `planeco <service> migrate`, an HPA and a PDB that target it; the ConfigMap and
  Secret references resolve; the gateway's upstream URLs point at the Services; no Secret is shipped;
  each CronJob runs `planeco <service> run-job <job>` with concurrencyPolicy Forbid on hardened pods.

Writes FACTS_OUT (JSON): every `planeco …` command line and every container environment found, for
deploy/tools/check_cli.py to verify against the real CLI and settings classes.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"levers": 8001, "diagnostic": 8002, "actions": 8003, "gateway": 8000}
SECRET_NAME = "planeco-secrets"  # noqa: S105 (the Secret object's name)
SECRET_KEYS = {"internal-secret", "aides-territoires-api-key", "smtp-password"} | {
    f"{s}-database-url" for s in SERVICES
}
REQUIRED_COMPOSE_VARIABLES = ("PLANECO_INTERNAL_SECRET", "PLANECO_POSTGRES_PASSWORD")
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY", re.IGNORECASE)
REQUIRED_VARIABLE = re.compile(r"\$\{\w+:\?[^}]*\}")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (what the containers must bind)

errors: list[str] = []
facts: dict[str, Any] = {"commands": [], "environments": [], "cronjobs": []}


def error(where: str, message: str) -> None:
    errors.append(f"{where}: {message}")


def say(message: str, *, stream: Any = sys.stdout) -> None:
    stream.write(message + "\n")


def serve_command(service: str) -> list[str]:
    return ["planeco", service, "serve", "--host", ALL_INTERFACES, "--port", str(SERVICES[service])]


def pod_labels_of(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


# --------------------------------------------------------------------------------------------------------
# Compose


class InterpolationError(Exception):
    pass


INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate_string(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, $$."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("named")
        op, arg = match.group("op"), match.group("arg") or ""
        present = name in env
        value = env.get(name, "")
        if op is None:
            return value
        empty_counts = op.startswith(":")
        unset = not present or (empty_counts and value == "")
        if op.endswith("-"):
            return arg if unset else value
        if op.endswith("?"):
            if unset:
                raise InterpolationError(f"required variable {name} is missing: {arg}")
            return value
        return "" if unset else arg  # "+"

    return INTERPOLATION.sub(replace, value)


def interpolate(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate_string(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def compose_environment(service: dict[str, Any]) -> dict[str, str | None]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs: dict[str, str | None] = {}
        for item in environment:
            key, sep, value = str(item).partition("=")
            pairs[key] = value if sep else None
        return pairs
    return {key: None if value is None else str(value) for key, value in environment.items()}


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """Stage name -> its instructions (keyword, arguments), continuation lines joined."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    logical = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if not logical and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            logical += raw.rstrip()[:-1] + " "
            continue
        logical += raw
        keyword, _, arguments = logical.strip().partition(" ")
        logical = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.match(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", arguments, re.IGNORECASE)
            if not match:
                error("Dockerfile", f"cannot read FROM {arguments!r}")
                continue
            current = stages.setdefault(match.group(2) or f"#{len(stages)}", [])
            current.append(("FROM", match.group(1)))
        elif current is not None:
            current.append((keyword, arguments.strip()))
    return stages


def check_dockerfile() -> dict[str, list[tuple[str, str]]]:
    stages = dockerfile_stages()
    for keyword, arguments in (i for instructions in stages.values() for i in instructions):
        if keyword in {"ARG", "ENV"} and SECRET_LIKE.search(arguments.split("=")[0]):
            error("Dockerfile", f"{keyword} {arguments!r} looks like a secret baked into the image")
        if keyword == "COPY" and "--from=" not in arguments:
            parts = [p for p in shlex.split(arguments) if not p.startswith("--")]
            for source in parts[:-1]:
                if not (ROOT / source).exists():
                    error("Dockerfile", f"COPY source {source} does not exist")
    dev_uv = re.search(r'^UV_VERSION = "([^"]+)"', (ROOT / "dev.py").read_text(), re.MULTILINE)
    image_uv = re.search(r"^ARG UV_VERSION=(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    if not dev_uv or not image_uv or dev_uv.group(1) != image_uv.group(1):
        error("Dockerfile", "ARG UV_VERSION must be the uv version dev.py pins")
    for service, port in SERVICES.items():
        instructions = stages.get(service)
        if instructions is None:
            error("Dockerfile", f"no target {service!r}")
            continue
        keywords = dict(instructions)
        user = keywords.get("USER", "")
        if not re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", user):
            error("Dockerfile", f"target {service}: USER must be a numeric non-root uid, got {user!r}")
        if "HEALTHCHECK" not in keywords or f"127.0.0.1:{port}/healthz" not in keywords["HEALTHCHECK"]:
            error("Dockerfile", f"target {service}: no HEALTHCHECK on :{port}/healthz")
        if f"EXPOSE {port}" not in {f"{k} {a}" for k, a in instructions}:
            error("Dockerfile", f"target {service}: EXPOSE {port} missing")
        if "CMD" not in keywords:
            error("Dockerfile", f"target {service}: no CMD")
        else:
            command = json.loads(keywords["CMD"])
            facts["commands"].append({"where": f"Dockerfile target {service}", "argv": command})
            expected = serve_command(service)
            if command != expected:
                error("Dockerfile", f"target {service}: CMD {command} is not {expected}")
    return stages


def check_compose(stages: dict[str, list[tuple[str, str]]]) -> None:
    where = "docker-compose.yml"
    raw = yaml.safe_load((ROOT / where).read_text())

    # The secrets must be required: interpolation without them must fail, one at a time.
    dummy = dict.fromkeys(REQUIRED_COMPOSE_VARIABLES, "x" * 64)
    for name in REQUIRED_COMPOSE_VARIABLES:
        try:
            interpolate(raw, {k: v for k, v in dummy.items() if k != name})
        except InterpolationError:
            continue
        error(where, f"{name} is not required (use ${{{name}:?…}} wherever it is used)")
    try:
        model = interpolate(raw, dummy)
    except InterpolationError as exc:
        error(where, str(exc))
        return

    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    for problem in validator_class(schema).iter_errors(model):
        error(where, f"after interpolation, {problem.json_path}: {problem.message}")

    services: dict[str, dict[str, Any]] = model.get("services") or {}
    init_sql = (ROOT / "deploy/compose/initdb/10-planeco-databases.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE\s+(\w+)", init_sql, re.IGNORECASE))

    for name, service in services.items():
        here = f"{where} service {name}"
        for dependency, spec in (service.get("depends_on") or {}).items():
            target = services.get(dependency)
            if target is None:
                error(here, f"depends_on {dependency!r}, which is not a service")
                continue
            condition = (spec or {}).get("condition", "service_started")
            healthcheck = target.get("healthcheck") or {}
            if condition == "service_healthy" and (not healthcheck.get("test") or healthcheck.get("disable")):
                error(here, f"waits for {dependency} to be healthy, which has no health check")
            if condition == "service_completed_successfully" and target.get("restart", "no") != "no":
                error(here, f"waits for {dependency} to complete, but {dependency} restarts")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")) and not (ROOT / source).exists():
                error(here, f"bind mount source {source} does not exist")
        if service.get("ports") and name != "gateway":
            error(here, "only the gateway publishes a port")
        for key, value in compose_environment(service).items():
            raw_value = compose_environment(raw["services"][name]).get(key)
            if (
                SECRET_LIKE.search(key)
                and raw_value is not None
                and not REQUIRED_VARIABLE.fullmatch(raw_value)
            ):
                error(here, f"{key} must come from a required variable (${{VAR:?…}}), not a literal")
            if key.endswith("_DATABASE_URL") and value:
                database = urlsplit(value).path.lstrip("/")
                if database not in created:
                    error(here, f"{key} names database {database!r}, not created by the init script")

        build = service.get("build")
        image = str(service.get("image", ""))
        if not image.startswith("planeco/"):
            continue
        service_name = image.split("/")[1].split(":")[0]
        target = (build or {}).get("target")
        if target != service_name or (build or {}).get("context") != ".":
            error(here, f"image {image} must be built from the repo root with target {service_name}")
        if target not in stages:
            error(here, f"build target {target!r} is not a stage of the Dockerfile")
        if service.get("read_only") is not True or "ALL" not in (service.get("cap_drop") or []):
            error(here, "planeco containers run with read_only: true and cap_drop: [ALL]")
        environment = compose_environment(service)
        prefix = f"PLANECO_{service_name.upper()}_"
        if environment.get(f"{prefix}ENVIRONMENT") != "production":
            error(here, f"{prefix}ENVIRONMENT must be production")
        if not str(environment.get(f"{prefix}DATABASE_URL", "")).startswith("postgresql+asyncpg://"):
            error(here, f"{prefix}DATABASE_URL must be a postgresql+asyncpg:// URL")
        command = service.get("command")
        if command is None:
            command = next(json.loads(a) for k, a in stages.get(service_name, []) if k == "CMD")
        if isinstance(command, str):
            command = shlex.split(command)
        facts["commands"].append({"where": here, "argv": command})
        passed = {k: v for k, v in environment.items() if v is not None}
        facts["environments"].append({"where": here, "service": service_name, "env": passed})
        if command[2:3] == ["serve"]:
            port = SERVICES[service_name]
            test = " ".join((service.get("healthcheck") or {}).get("test") or [])
            if f"127.0.0.1:{port}/" not in test:
                error(here, f"health check does not probe port {port}")

    gateway = services.get("gateway")
    if gateway:
        environment = compose_environment(gateway)
        for upstream in ("levers", "diagnostic", "actions"):
            url = urlsplit(environment.get(f"PLANECO_GATEWAY_{upstream.upper()}_URL") or "")
            if url.hostname not in services or url.port != SERVICES[upstream]:
                error(where, f"the gateway's {upstream} URL is not http://{upstream}:{SERVICES[upstream]}")
            if (gateway.get("depends_on") or {}).get(upstream, {}).get("condition") != "service_healthy":
                error(where, f"the gateway must wait for {upstream} to be healthy")
    for service_name in SERVICES:
        jobs = [
            n
            for n, s in services.items()
            if str(s.get("image", "")).startswith(f"planeco/{service_name}:")
            and (s.get("command") or [])[1:3] == [service_name, "migrate"]
        ]
        if not jobs:
            error(where, f"no one-shot `planeco {service_name} migrate` service")


# --------------------------------------------------------------------------------------------------------
# Kubernetes


def containers_of(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec.get("initContainers") or []) + list(pod_spec.get("containers") or [])


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def check_pod(where: str, service: str, pod_spec: dict[str, Any], shipped: bool) -> None:
    security = pod_spec.get("securityContext") or {}
    if security.get("runAsNonRoot") is not True or not security.get("runAsUser"):
        error(where, "pod securityContext must set runAsNonRoot: true and a non-zero runAsUser")
    if pod_spec.get("enableServiceLinks") is not False:
        error(where, "enableServiceLinks must be false (service-link variables share the PLANECO_ prefix)")
    for container in containers_of(pod_spec):
        here = f"{where} container {container['name']}"
        image = container.get("image", "")
        if image.split("/")[-1].split(":")[0] != service:
            error(here, f"image {image} is not the {service} image")
        if shipped and (":" not in image.split("/")[-1] or image.endswith(":latest")):
            error(here, f"image {image} has no explicit tag")
        context = container.get("securityContext") or {}
        if not (
            context.get("readOnlyRootFilesystem") is True and context.get("allowPrivilegeEscalation") is False
        ):
            error(here, "needs readOnlyRootFilesystem: true and allowPrivilegeEscalation: false")
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            error(here, "must drop ALL capabilities")
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(kind) or {}):
                error(here, f"resources.{kind} needs cpu and memory")
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            name = (source.get("configMapRef") or {}).get("name")
            if name not in config_maps_data:
                error(here, f"envFrom ConfigMap {name!r} is not in the rendered manifests")
            else:
                env.update(config_maps_data[name])
        for variable in container.get("env") or []:
            reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if reference:
                if reference.get("name") != SECRET_NAME or reference.get("key") not in SECRET_KEYS:
                    error(here, f"{variable['name']} refers to an undocumented secret key {reference}")
                env[variable["name"]] = f"<secret {reference.get('key')}>"
            elif "value" in variable:
                env[variable["name"]] = variable["value"]
        prefix = f"PLANECO_{service.upper()}_"
        if env.get(f"{prefix}DATABASE_URL") != f"<secret {service}-database-url>":
            error(here, f"{prefix}DATABASE_URL must come from secret key {service}-database-url")
        if env.get(f"{prefix}INTERNAL_SECRET") != "<secret internal-secret>":
            error(here, f"{prefix}INTERNAL_SECRET must come from secret key internal-secret")
        if env.get(f"{prefix}ENVIRONMENT") != "production":
            error(here, f"{prefix}ENVIRONMENT must be production")
        facts["environments"].append({"where": here, "service": service, "env": env})
        facts["commands"].append({"where": here, "argv": container.get("command") or []})


config_maps_data: dict[str, dict[str, str]] = {}


def check_cronjob(
    where: str, service: str, cron: dict[str, Any], deployment: dict[str, Any], shipped: bool
) -> None:
    """A scheduled job: `planeco <service> run-job NAME …` on the service's image, never two pods at once,
    pods hardened like the others and not selected by the Deployment."""
    spec = cron["spec"]
    if spec.get("concurrencyPolicy") != "Forbid":
        error(where, "concurrencyPolicy must be Forbid (one run of a job at a time)")
    job_spec = spec["jobTemplate"]["spec"]
    pod_spec = job_spec["template"]["spec"]
    if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
        error(where, "restartPolicy must be Never or OnFailure")
    labels = job_spec["template"].get("metadata", {}).get("labels") or {}
    if labels_match(deployment["spec"]["selector"]["matchLabels"], labels):
        error(where, "its pods match the Deployment's selector")
    check_pod(where, service, pod_spec, shipped)
    (container,) = pod_spec["containers"]
    command = container.get("command") or []
    if command[:3] != ["planeco", service, "run-job"] or len(command) < 4:
        error(where, f"must run `planeco {service} run-job <job>`")
        return
    facts["cronjobs"].append(
        {"where": where, "service": service, "job": command[3], "schedule": spec["schedule"]}
    )


def check_rendered(path: Path) -> None:
    where = path.name
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    shipped = not path.name.startswith("base")
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    allowed = {
        "Namespace",
        "ConfigMap",
        "Service",
        "Deployment",
        "Job",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "CronJob",
        "Ingress",
        "NetworkPolicy",
    }
    for document in documents:
        kind, name = document.get("kind"), document["metadata"]["name"]
        if kind not in allowed:
            error(where, f"unexpected kind {kind} ({name}): not covered by these checks")
        if kind == "Secret":
            error(where, f"ships Secret {name}: secrets are created out of band (deploy/README.md)")
        by_kind.setdefault(kind, {})[name] = document
    config_maps_data.clear()
    for name, config_map in by_kind.get("ConfigMap", {}).items():
        config_maps_data[name] = {k: str(v) for k, v in (config_map.get("data") or {}).items()}
        for key, value in config_maps_data[name].items():
            if SECRET_LIKE.search(key):
                error(where, f"ConfigMap {name} holds {key}: secrets belong in {SECRET_NAME}")
            upstream = key.removeprefix("PLANECO_GATEWAY_").removesuffix("_URL").lower()
            if key == f"PLANECO_GATEWAY_{upstream.upper()}_URL" and upstream in SERVICES:
                url = urlsplit(value)
                target = by_kind.get("Service", {}).get(url.hostname or "")
                ports = [p["port"] for p in (target or {}).get("spec", {}).get("ports", [])]
                if target is None or url.port not in ports:
                    error(where, f"{key}={value} does not point at a rendered Service and port")
                elif target["metadata"]["labels"].get("app.kubernetes.io/name") != upstream:
                    error(where, f"{key} points at Service {url.hostname}, which is not {upstream}")
    deployments = by_kind.get("Deployment", {})

    for service, port in SERVICES.items():
        name = f"planeco-{service}"
        deployment = deployments.get(name)
        if deployment is None:
            error(where, f"no Deployment {name}")
            continue
        here = f"{where} Deployment {name}"
        if "replicas" in deployment["spec"]:
            error(here, "sets replicas, which fights the HorizontalPodAutoscaler")
        template = deployment["spec"]["template"]
        pod_labels = pod_labels_of(deployment)
        if not labels_match(deployment["spec"]["selector"]["matchLabels"], pod_labels):
            error(here, "selector does not match its pod template")
        check_pod(here, service, template["spec"], shipped)
        (container,) = template["spec"]["containers"]
        container_ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
        if container_ports.get("http") != port:
            error(here, f"container port 'http' must be {port}")
        if container.get("command") != serve_command(service):
            error(here, f"command must be `{' '.join(serve_command(service))}`")
        probes = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
        for probe, path in probes.items():
            http_get = (container.get(probe) or {}).get("httpGet") or {}
            if http_get.get("path") != path or http_get.get("port") not in ("http", port):
                error(here, f"{probe} must GET {path} on the http port")

        service_object = by_kind.get("Service", {}).get(name)
        if service_object is None:
            error(where, f"no Service {name}")
        else:
            spec = service_object["spec"]
            if not labels_match(spec.get("selector") or {}, pod_labels) or not spec.get("selector"):
                error(where, f"Service {name} does not select the Deployment's pods")
            for service_port in spec.get("ports") or []:
                if service_port.get("targetPort") not in ("http", port):
                    error(where, f"Service {name} targets port {service_port.get('targetPort')}")
            for other in deployments.values():
                if other is not deployment and labels_match(spec.get("selector") or {}, pod_labels_of(other)):
                    error(where, f"Service {name} also selects {other['metadata']['name']}")

        job = by_kind.get("Job", {}).get(f"{name}-migrate")
        if job is None:
            error(where, f"no migration Job {name}-migrate")
        else:
            job_spec = job["spec"]["template"]["spec"]
            here_job = f"{where} Job {name}-migrate"
            if job_spec.get("restartPolicy") not in ("Never", "OnFailure"):
                error(here_job, "restartPolicy must be Never or OnFailure")
            if labels_match(deployment["spec"]["selector"]["matchLabels"], pod_labels_of(job)):
                error(here_job, "its pods match the Deployment's selector")
            check_pod(here_job, service, job_spec, shipped)
            for container in containers_of(job_spec):
                for source in container.get("envFrom") or []:
                    config_map_name = (source.get("configMapRef") or {}).get("name")
                    config_map = by_kind.get("ConfigMap", {}).get(config_map_name) or {}
                    labels = config_map.get("metadata", {}).get("labels") or {}
                    if config_map and labels.get("app.kubernetes.io/component") != "config":
                        # deploy/README.md applies `component in (config,migration)` before the rest.
                        error(here_job, f"reads ConfigMap {config_map_name}, not labelled component=config")
            commands = [c.get("command") for c in containers_of(job_spec)]
            if ["planeco", service, "migrate"] not in commands:
                error(here_job, f"does not run `planeco {service} migrate`")
            if service == "levers":
                first = [c.get("command") for c in job_spec.get("initContainers") or []]
                imports = ["planeco", "levers", "run-job", "reference-data"]
                if ["planeco", "levers", "migrate"] not in first or imports not in commands:
                    error(
                        here_job,
                        "must migrate (init container), then `planeco levers run-job reference-data`",
                    )

        for cron_name, cron in by_kind.get("CronJob", {}).items():
            if cron["metadata"].get("labels", {}).get("app.kubernetes.io/name") == service:
                check_cronjob(f"{where} CronJob {cron_name}", service, cron, deployment, shipped)

        hpa = by_kind.get("HorizontalPodAutoscaler", {}).get(name)
        if hpa is None:
            error(where, f"no HorizontalPodAutoscaler {name}")
        else:
            target = hpa["spec"]["scaleTargetRef"]
            if (target.get("kind"), target.get("name")) != ("Deployment", name):
                error(where, f"HorizontalPodAutoscaler {name} does not target Deployment {name}")
            if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
                error(where, f"HorizontalPodAutoscaler {name}: minReplicas > maxReplicas")
        pdb = by_kind.get("PodDisruptionBudget", {}).get(name)
        if pdb is None:
            error(where, f"no PodDisruptionBudget {name}")
        else:
            matched = [
                d["metadata"]["name"]
                for d in deployments.values()
                if labels_match(pdb["spec"]["selector"].get("matchLabels") or {}, pod_labels_of(d))
            ]
            if matched != [name]:
                error(where, f"PodDisruptionBudget {name} selects {matched}, not exactly {name}")
            if "maxUnavailable" not in pdb["spec"] and "minAvailable" not in pdb["spec"]:
                error(where, f"PodDisruptionBudget {name} sets neither maxUnavailable nor minAvailable")


def main(argv: list[str]) -> int:
    facts_out, rendered = Path(argv[0]), [Path(p) for p in argv[1:]]
    stages = check_dockerfile()
    check_compose(stages)
    for path in rendered:
        check_rendered(path)
    facts_out.write_text(json.dumps(facts, indent=1))
    for message in errors:
        say(f"ERROR {message}", stream=sys.stderr)
    if errors:
        say(f"{len(errors)} problem(s) in the deployment files", stream=sys.stderr)
        return 1
    say(
        f"consistent: Dockerfile, docker-compose.yml, {len(rendered)} rendered manifest set(s); "
        f"{len(facts['commands'])} command lines and {len(facts['environments'])} container environments "
        "to check against the code"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
