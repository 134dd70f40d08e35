"""The container setup agrees with the Procfile and with settings.

docker-compose.yml, the Dockerfile and .env.example are read as text/YAML
(no Docker needed) and checked against Procfile and project/settings.py:
the same processes, one worker pool per queue, one beat, health checks,
start order, and only environment variables the code actually reads.
"""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PATH = ROOT / "docker-compose.yml"
PROCFILE_PATH = ROOT / "Procfile"
SETTINGS_PATH = ROOT / "project" / "settings.py"
ENV_EXAMPLE_PATH = ROOT / ".env.example"
DOCKERFILE_PATH = ROOT / "Dockerfile"

# `celery` options that come before the subcommand and take a value.
CELERY_GLOBAL_OPTIONS_WITH_VALUE = {
    "-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config", "--workdir",
}  # fmt: skip


# --- reading the files ----------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


def procfile() -> dict[str, str]:
    processes = {}
    for line in PROCFILE_PATH.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def tokens(command) -> list[str]:
    """A command as argv: a compose/Dockerfile list as is, a string split like a shell.

    `sh -c "exec ..."` wrappers are unwrapped to the command they run, and a
    leading guard (`: "${VAR:?message}" && ...`) to the command it guards.
    """
    argv = list(command) if isinstance(command, list) else shlex.split(command)
    if argv[:2] == ["sh", "-c"] and len(argv) >= 3:
        argv = shlex.split(argv[2])
    if argv[:1] == [":"] and "&&" in argv:
        argv = argv[argv.index("&&") + 1 :]
    if argv[:1] == ["exec"]:
        argv = argv[1:]
    return argv


def program(argv: list[str]) -> tuple[str, ...]:
    """("gunicorn",) or ("celery", "<subcommand>")."""
    if not argv:
        return ()
    if Path(argv[0]).name != "celery":
        return (Path(argv[0]).name,)
    rest = iter(argv[1:])
    for arg in rest:
        if arg in CELERY_GLOBAL_OPTIONS_WITH_VALUE:
            next(rest, None)
        elif not arg.startswith("-"):
            return ("celery", arg)
    return ("celery",)


def option(argv: list[str], *names: str) -> str | None:
    """The value of --name VALUE / --name=VALUE / -N VALUE, or None."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def queues_of(argv: list[str]) -> list[str]:
    value = option(argv, "--queues", "-Q")
    return [q for q in value.split(",") if q] if value else []


def service_argv(service: dict) -> list[str]:
    return tokens(service.get("command") or [])


def compose_name(process: str) -> str | None:
    """The compose service for a Procfile process (worker_payments -> worker-payments)."""
    for candidate in (process, process.replace("_", "-")):
        if candidate in services():
            return candidate
    return None


def one_shot_services() -> set[str]:
    """Services others wait on to *complete*: setup jobs that run once and exit."""
    return {
        name
        for service in services().values()
        for name, dependency in depends_on(service).items()
        if dependency.get("condition") == "service_completed_successfully"
    }


def long_running_services() -> dict[str, dict]:
    return {n: s for n, s in services().items() if n not in one_shot_services()}


def app_services() -> dict[str, dict]:
    """Services that run the Orderly image (the x-app definition)."""
    app = compose().get("x-app")
    assert app and app.get("image"), "docker-compose.yml has no x-app definition with an image"
    return {n: s for n, s in services().items() if s.get("image") == app["image"]}


def depends_on(service: dict) -> dict[str, dict]:
    value = service.get("depends_on") or {}
    if isinstance(value, list):
        return {name: {"condition": "service_started"} for name in value}
    return value


def environment(service: dict) -> dict[str, str]:
    value = service.get("environment") or {}
    if isinstance(value, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in value)
    return {key: ("" if val is None else str(val)) for key, val in value.items()}


def worker_services() -> dict[str, dict]:
    return {n: s for n, s in services().items() if program(service_argv(s)) == ("celery", "worker")}


def names_read_by_settings() -> set[str]:
    return set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", SETTINGS_PATH.read_text()))


def names_read_by_procfile() -> set[str]:
    return set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", PROCFILE_PATH.read_text()))


def names_read_by_the_app() -> set[str]:
    return names_read_by_settings() | names_read_by_procfile()


ENV_EXAMPLE_ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")


def env_example_names() -> set[str]:
    """Variables .env.example sets, or documents as a commented-out `# NAME=value`."""
    return {
        match.group(1)
        for line in ENV_EXAMPLE_PATH.read_text().splitlines()
        if (match := ENV_EXAMPLE_ASSIGNMENT.match(line))
    }


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for raw in DOCKERFILE_PATH.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return instructions[starts[-1] :]


# --- Procfile <-> compose ---------------------------------------------------------


def test_every_procfile_process_has_a_compose_service_running_the_same_program():
    for process, command in procfile().items():
        name = compose_name(process)
        assert name, (
            f"Procfile process {process!r} has no compose service "
            f"({process!r} or {process.replace('_', '-')!r}) in docker-compose.yml"
        )
        expected, actual = tokens(command), service_argv(services()[name])
        assert program(actual) == program(expected), (
            f"compose service {name!r} runs {program(actual)}, "
            f"Procfile {process!r} runs {program(expected)}"
        )
        assert option(actual, "-A", "--app") == option(expected, "-A", "--app"), (
            f"compose service {name!r} loads app {option(actual, '-A', '--app')!r}, "
            f"Procfile {process!r} loads {option(expected, '-A', '--app')!r}"
        )
        if program(expected) == ("celery", "worker"):
            assert queues_of(actual) == queues_of(expected), (
                f"compose service {name!r} consumes --queues {queues_of(actual)}, "
                f"Procfile {process!r} consumes {queues_of(expected)}"
            )
        if program(expected) == ("gunicorn",):
            assert actual[1:2] == expected[1:2], (
                f"compose service {name!r} serves {actual[1:2]}, "
                f"Procfile {process!r} serves {expected[1:2]}"
            )


def test_every_long_running_app_service_is_a_procfile_process():
    procfile_services = {compose_name(process) for process in procfile()}
    for name in app_services():
        if name in long_running_services():
            assert name in procfile_services, (
                f"compose service {name!r} runs the app but matches no Procfile line "
                f"(Procfile has {sorted(procfile())})"
            )


def test_every_queue_has_exactly_one_worker_service():
    consumers: dict[str, list[str]] = {}
    for name, service in worker_services().items():
        service_queues = queues_of(service_argv(service))
        assert service_queues, f"compose worker {name!r} has no --queues: it would consume 'celery'"
        for queue in service_queues:
            assert queue in settings.ORDERLY_QUEUES, (
                f"compose worker {name!r} consumes {queue!r}, "
                f"which is not in settings.ORDERLY_QUEUES {settings.ORDERLY_QUEUES}"
            )
            consumers.setdefault(queue, []).append(name)
    for queue in settings.ORDERLY_QUEUES:
        assert len(consumers.get(queue, [])) == 1, (
            f"queue {queue!r} must be consumed by exactly one compose worker service, "
            f"found {consumers.get(queue, [])}"
        )


def test_every_queue_has_exactly_one_procfile_worker_line():
    consumers: dict[str, list[str]] = {}
    for process, command in procfile().items():
        argv = tokens(command)
        if program(argv) != ("celery", "worker"):
            continue
        process_queues = queues_of(argv)
        assert process_queues, f"Procfile {process!r} has no --queues: it would consume 'celery'"
        for queue in process_queues:
            assert queue in settings.ORDERLY_QUEUES, (
                f"Procfile {process!r} consumes {queue!r}, "
                f"which is not in settings.ORDERLY_QUEUES {settings.ORDERLY_QUEUES}"
            )
            consumers.setdefault(queue, []).append(process)
    for queue in settings.ORDERLY_QUEUES:
        assert len(consumers.get(queue, [])) == 1, (
            f"queue {queue!r} must be consumed by exactly one Procfile worker line, "
            f"found {consumers.get(queue, [])}"
        )


def test_worker_healthcheck_pings_its_own_node_name():
    procfile_hostnames = {
        compose_name(process): option(tokens(command), "--hostname", "-n")
        for process, command in procfile().items()
    }
    for name, service in worker_services().items():
        hostname = option(service_argv(service), "--hostname", "-n")
        assert hostname and hostname.endswith("@%h"), (
            f"compose worker {name!r} needs --hostname <name>@%h, has {hostname!r}"
        )
        assert hostname == procfile_hostnames.get(name), (
            f"compose worker {name!r} is named {hostname!r}, "
            f"its Procfile line {procfile_hostnames.get(name)!r}"
        )
        node = hostname.removesuffix("@%h")
        probe = " ".join(tokens_of_healthcheck(service))
        assert "inspect ping" in probe and f"-d {node}@$$HOSTNAME" in probe, (
            f"compose worker {name!r}: healthcheck must run "
            f"`celery -A project inspect ping -d {node}@$$HOSTNAME`, has {probe!r}"
        )


def tokens_of_healthcheck(service: dict) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test") or []
    return [test] if isinstance(test, str) else list(test)


# --- beat ---------------------------------------------------------------------------


def test_there_is_exactly_one_beat_service_and_it_is_not_scaled():
    beats = [n for n, s in services().items() if program(service_argv(s)) == ("celery", "beat")]
    assert len(beats) == 1, f"expected exactly one compose service running celery beat, got {beats}"
    beat = services()[beats[0]]
    replicas = (beat.get("deploy") or {}).get("replicas", 1)
    assert int(replicas) <= 1, f"beat service {beats[0]!r} has deploy.replicas {replicas}"
    assert int(beat.get("scale", 1)) <= 1, f"beat service {beats[0]!r} has scale {beat['scale']}"


def test_no_worker_runs_an_embedded_beat():
    commands = {f"compose {n}": service_argv(s) for n, s in worker_services().items()}
    commands |= {
        f"Procfile {p}": tokens(c)
        for p, c in procfile().items()
        if program(tokens(c)) == ("celery", "worker")
    }
    for where, argv in commands.items():
        assert not {"-B", "--beat"} & set(argv), (
            f"{where} runs an embedded beat (-B): periodic tasks would be sent twice"
        )


# --- health and start order ----------------------------------------------------------


def test_every_long_running_service_has_a_healthcheck():
    for name, service in long_running_services().items():
        healthcheck = service.get("healthcheck") or {}
        test = tokens_of_healthcheck(service)
        assert test and test != ["NONE"] and not healthcheck.get("disable"), (
            f"long-running compose service {name!r} has no healthcheck"
        )


def test_app_services_wait_for_healthy_redis_and_postgres():
    for name, service in app_services().items():
        dependencies = depends_on(service)
        for backing in ("redis", "postgres"):
            condition = dependencies.get(backing, {}).get("condition")
            assert condition == "service_healthy", (
                f"compose service {name!r} must depend on {backing!r} with "
                f"condition service_healthy, has {condition!r}"
            )


NEEDS_MIGRATED_DATABASE = {("gunicorn",), ("celery", "worker"), ("celery", "beat")}


def test_web_workers_and_beat_start_after_migrations_completed():
    assert "migrate" in services(), "docker-compose.yml has no one-shot 'migrate' service"
    for name, service in app_services().items():
        if program(service_argv(service)) in NEEDS_MIGRATED_DATABASE:
            condition = depends_on(service).get("migrate", {}).get("condition")
            assert condition == "service_completed_successfully", (
                f"compose service {name!r} must depend on 'migrate' with condition "
                f"service_completed_successfully, has {condition!r}"
            )


def test_migrate_service_migrates_seeds_and_installs_periodic_tasks():
    script = " ".join(service_argv(services()["migrate"]))
    steps = ["manage.py migrate --noinput", "manage.py seed_demo", "manage.py setup_periodic_tasks"]
    positions = [script.find(step) for step in steps]
    for step, position in zip(steps, positions, strict=True):
        assert position >= 0, f"migrate service does not run `{step}`: {script!r}"
    assert positions == sorted(positions), f"migrate service must run {steps} in order: {script!r}"
    assert "&&" in script, f"migrate service must stop at the first failing step (&&): {script!r}"


def test_one_shot_services_are_not_restarted():
    for name in one_shot_services():
        restart = services()[name].get("restart", "no")
        assert restart in {"no", False, "on-failure"}, (
            f"one-shot compose service {name!r} has restart {restart!r}: it would run forever"
        )


# --- environment ------------------------------------------------------------------------


def test_compose_app_environment_sets_only_variables_the_app_reads():
    read = names_read_by_the_app()
    for name, service in app_services().items():
        for variable in environment(service):
            assert variable in read, (
                f"compose service {name!r} sets {variable}, which neither "
                f"project/settings.py nor the Procfile reads"
            )


def test_env_example_documents_only_variables_the_app_reads():
    unread = env_example_names() - names_read_by_the_app()
    assert not unread, f".env.example documents variables nothing reads: {sorted(unread)}"


def test_env_example_documents_every_variable_settings_reads():
    missing = names_read_by_settings() - env_example_names()
    assert not missing, f".env.example is missing variables settings.py reads: {sorted(missing)}"


def test_env_example_documents_every_variable_the_procfile_reads():
    missing = names_read_by_procfile() - env_example_names()
    assert not missing, f".env.example is missing variables the Procfile reads: {sorted(missing)}"


def test_env_example_explains_every_variable_in_a_comment_above_it():
    lines = ENV_EXAMPLE_PATH.read_text().splitlines()
    for index, line in enumerate(lines):
        match = ENV_EXAMPLE_ASSIGNMENT.match(line)
        if not match:
            continue
        above = lines[index - 1] if index else ""
        assert above.startswith("#") and not ENV_EXAMPLE_ASSIGNMENT.match(above), (
            f".env.example: {match.group(1)} has no explaining comment on the line above"
        )


def test_app_storage_credentials_match_minio_and_the_bucket_is_created():
    minio = environment(services()["minio"])
    bucket_job = services()["createbucket"]
    for name, service in app_services().items():
        env = environment(service)
        assert env.get("AWS_ACCESS_KEY_ID") == minio.get("MINIO_ROOT_USER"), (
            f"compose service {name!r}: AWS_ACCESS_KEY_ID is not minio's MINIO_ROOT_USER"
        )
        assert env.get("AWS_SECRET_ACCESS_KEY") == minio.get("MINIO_ROOT_PASSWORD"), (
            f"compose service {name!r}: AWS_SECRET_ACCESS_KEY is not minio's MINIO_ROOT_PASSWORD"
        )
        bucket = env.get("AWS_STORAGE_BUCKET_NAME")
        assert f"local/{bucket}" in service_argv(bucket_job), (
            f"createbucket does not create the bucket {bucket!r} that {name!r} uses"
        )
    alias = environment(bucket_job).get("MC_HOST_local", "")
    expected = f"http://{minio['MINIO_ROOT_USER']}:{minio['MINIO_ROOT_PASSWORD']}@minio:9000"
    assert alias == expected, f"createbucket's MC_HOST_local is not minio's root user: {alias!r}"


def test_database_url_matches_the_postgres_service():
    postgres = environment(services()["postgres"])
    expected = (
        f"postgres://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    for name, service in app_services().items():
        actual = environment(service).get("DATABASE_URL")
        assert actual == expected, (
            f"compose service {name!r}: DATABASE_URL {actual!r} != {expected!r}"
        )


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_runs_as_a_non_root_user():
    users = [arguments for keyword, arguments in final_stage() if keyword == "USER"]
    assert users, "Dockerfile's final stage has no USER: the container would run as root"
    user = users[-1].split(":")[0].strip()
    assert user not in {"root", "0", ""}, f"Dockerfile's final stage runs as {users[-1]!r}"


def test_dockerfile_bakes_no_secret_into_env():
    for keyword, arguments in dockerfile_instructions():
        if keyword in {"ENV", "ARG"}:
            for word in ("SECRET", "PASSWORD", "API_KEY", "ACCESS_KEY"):
                assert word not in arguments.upper(), (
                    f"Dockerfile {keyword} would bake {word} into the image: {arguments!r}"
                )


def test_web_listens_on_all_interfaces_in_the_image_and_in_compose():
    cmds = [arguments for keyword, arguments in final_stage() if keyword == "CMD"]
    assert cmds, "Dockerfile's final stage has no CMD"
    image_argv = tokens(json.loads(cmds[-1]))
    assert program(image_argv) == ("gunicorn",), f"Dockerfile CMD does not run gunicorn: {cmds[-1]}"
    assert option(image_argv, "--bind", "-b") == "0.0.0.0:8000", (
        f"Dockerfile CMD must bind 0.0.0.0:8000, binds {option(image_argv, '--bind', '-b')!r}"
    )
    exposed = [arguments for keyword, arguments in final_stage() if keyword == "EXPOSE"]
    assert any("8000" in ports.split() for ports in exposed), "Dockerfile does not EXPOSE 8000"
    web_argv = service_argv(services()[compose_name("web")])
    assert option(web_argv, "--bind", "-b") == "0.0.0.0:8000", (
        f"compose web must bind 0.0.0.0:8000, binds {option(web_argv, '--bind', '-b')!r}"
    )


# --- observability -----------------------------------------------------------------------

OPS = ROOT / "ops"


def mounted(service: dict, source: str) -> str | None:
    """Where a service mounts `source` (a host path or a named volume), or None."""
    for volume in service.get("volumes") or []:
        host, _, rest = volume.partition(":")
        if host == source:
            return rest.split(":")[0]
    return None


def exported_metric_names() -> set[str]:
    """Metric names the ops code defines (counters also as <name>_total)."""
    names = set()
    for path in OPS.glob("*.py"):
        for name in re.findall(r"\"(orderly_[a-z_]+)\"", path.read_text()):
            names |= {name, f"{name}_total", f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def test_prometheus_service_evaluates_the_tested_rules_and_scrapes_web_with_the_token():
    prometheus = services()["prometheus"]
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    config_path = mounted(prometheus, "./ops/prometheus/prometheus.yml")
    assert config_path == "/etc/prometheus/prometheus.yml"
    assert mounted(prometheus, "./ops/prometheus/rules.yml") in config["rule_files"]
    [job] = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["web:8000"]
    assert job["metrics_path"] == "/metrics"
    token_file = job["authorization"]["credentials_file"]
    [token_config] = [c for c in prometheus["configs"] if c["target"] == token_file]
    token = compose()["configs"][token_config["source"]]["content"]
    assert token == environment(services()["web"])["ORDERLY_METRICS_TOKEN"], (
        "Prometheus must send the token the web service checks"
    )


def test_every_app_process_writes_metrics_to_one_shared_volume_emptied_before_start():
    directory = environment(services()["web"])["PROMETHEUS_MULTIPROC_DIR"]
    for name, service in app_services().items():
        if name == "flower":
            continue
        assert environment(service).get("PROMETHEUS_MULTIPROC_DIR") == directory, name
        assert mounted(service, "metrics") == directory, f"{name} does not mount the metrics volume"
    assert f"rm -f {directory}/*.db" in " ".join(service_argv(services()["migrate"]))


def test_grafana_dashboard_is_provisioned_and_queries_only_metrics_orderly_exports():
    grafana = services()["grafana"]
    assert mounted(grafana, "./ops/grafana/provisioning") == "/etc/grafana/provisioning"
    provider = yaml.safe_load(
        (OPS / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text()
    )["providers"][0]
    assert mounted(grafana, "./ops/grafana/dashboards") == provider["options"]["path"]
    dashboard = json.loads((OPS / "grafana" / "dashboards" / "orderly.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\b(orderly_[a-z_]+)", expr)}
    assert used and used <= exported_metric_names(), used - exported_metric_names()
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("queue", "task", "checkout", "dead letter", "outbox", "beat"):
        assert topic in titles, f"the dashboard has no panel about {topic}"


def test_app_services_send_traces_to_the_jaeger_service_and_log_json():
    endpoint = environment(services()["web"])["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint == "http://jaeger:4318"
    assert environment(services()["jaeger"]).get("COLLECTOR_OTLP_ENABLED") == "true"
    for name, service in app_services().items():
        assert environment(service).get("ORDERLY_LOG_FORMAT") == "json", name


# --- invoice fonts -------------------------------------------------------------------------

# The Debian packages holding the invoice's embedded fonts (reports/pdf_text.py), by setting.
INVOICE_FONT_PACKAGES = {
    "ORDERLY_INVOICE_FONT_DIR": "fonts-dejavu-core",
    "ORDERLY_INVOICE_CJK_FONT": "fonts-wqy-zenhei",
    "ORDERLY_INVOICE_JAPANESE_FONT": "fonts-ipafont-gothic",
}


def test_the_image_installs_every_invoice_font_package():
    installed = {
        word.strip()
        for keyword, arguments in final_stage()
        if keyword == "RUN" and "apt-get install" in arguments
        for word in arguments.split()
    }
    missing = set(INVOICE_FONT_PACKAGES.values()) - installed
    assert not missing, f"the Dockerfile's final stage does not apt-get install {sorted(missing)}"


@pytest.mark.skipif(not shutil.which("dpkg"), reason="not a Debian machine")
def test_each_invoice_font_setting_defaults_to_a_file_of_its_package():
    for setting, package in INVOICE_FONT_PACKAGES.items():
        path = getattr(settings, setting)
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        owners = owner.stdout.partition(": ")[0].split(", ")
        assert package in owners, (setting, path, owner.stdout or owner.stderr)
