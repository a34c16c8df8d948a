"""Structure of the distributed setup: docker-compose.yml, the Dockerfiles and nginx.conf.

There is no Docker engine where these tests run, so nothing is built or started. They check that
the pieces fit together: the services and their health checks, start-up order, one GPU per
worker, the volumes the API and the workers share, secrets without defaults, and that every
program a service runs is installed in its image.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import json
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ROOT_DOCKERFILE = ROOT / "Dockerfile"
FRONTEND_DOCKERFILE = ROOT / "frontend" / "Dockerfile"
NGINX_CONF = ROOT / "frontend" / "nginx.conf"
API_MAIN = ROOT / "backend" / "app" / "main.py"
CELERY_APP = ROOT / "worker" / "celery_app.py"
FRONTEND_PACKAGE = ROOT / "frontend" / "package.json"

EXPECTED_SERVICES = ["db", "redis", "api", "worker", "worker-gpu1", "dashboard"]
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN")

BACKEND_MISSING = "backend/app/main.py is not written yet"
CELERY_MISSING = "worker/celery_app.py is not written yet"


# --- reading the files ------------------------------------------------------------------------


@functools.cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict:
    return compose()["services"]


# What reading a missing, malformed or service-less compose file raises: collection then finds
# nothing, and the tests that read the file directly say what is wrong.
UNREADABLE = (OSError, yaml.YAMLError, KeyError, TypeError)


def command_words(spec) -> list[str]:
    """A compose command (string or list) as the words it runs."""
    if spec is None:
        return []
    return shlex.split(spec) if isinstance(spec, str) else [str(word) for word in spec]


def shell_steps(words: list[str]) -> list[str]:
    """The commands of `sh -c SCRIPT` (split on the shell's separators); else the command."""
    if len(words) >= 3 and words[0] in ("sh", "bash") and words[1] == "-c":
        return [step.strip() for step in re.split(r"&&|\|\||;|\|", words[2]) if step.strip()]
    return [shlex.join(words)] if words else []


def programs(words: list[str]) -> list[str]:
    """Every program a command starts: the shell itself and each command of its script."""
    if not words:
        return []
    steps = shell_steps(words)
    inner = [shlex.split(step)[0] for step in steps]
    return [words[0], *inner] if words[0] in ("sh", "bash") and words[1:2] == ["-c"] else inner


def healthcheck_words(service: dict) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return ["sh", "-c", test]
    if not test:
        return []
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", " ".join(test[1:])]
    return [str(word) for word in (test[1:] if test[0] == "CMD" else test)]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def option(words: list[str], *names: str) -> str | None:
    """The value of a command-line option given as `--name value` or `--name=value`."""
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def split_mount(spec) -> tuple[str, str, bool]:
    """(source, target, read_only) of a volume, short or long syntax; `${...}` may hold ':'."""
    if isinstance(spec, dict):
        return str(spec.get("source", "")), str(spec["target"]), bool(spec.get("read_only"))
    parts, current, depth = [], "", 0
    for char in spec:
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "{"
        depth -= char == "}"
        current += char
    parts.append(current)
    if len(parts) == 1:
        return "", parts[0], False
    mode = parts[2] if len(parts) > 2 else ""
    return parts[0], parts[1], "ro" in mode.split(",")


def mounts(service: dict) -> dict[str, tuple[str, bool]]:
    """Mount target → (source, read_only)."""
    found = {}
    for spec in service.get("volumes") or []:
        source, target, read_only = split_mount(spec)
        found[target] = (source, read_only)
    return found


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def instruction_words(arguments: str) -> list[str]:
    if arguments.startswith("["):
        return [str(word) for word in json.loads(arguments)]
    return shlex.split(arguments)


def copy_sources(path: Path) -> list[str]:
    """The build-context paths a Dockerfile COPYs (copies from other stages left out)."""
    sources = []
    for instruction, arguments in dockerfile_instructions(path):
        if instruction not in ("COPY", "ADD"):
            continue
        words = instruction_words(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        sources.extend(paths[:-1])
    return sources


def project_install_extras(path: Path) -> set[str] | None:
    """The extras with which a Dockerfile pip-installs the project (`.`), None if it does not."""
    for instruction, arguments in dockerfile_instructions(path):
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|;", arguments):
            words = shlex.split(command)
            if "pip" not in " ".join(words[:4]) or "install" not in words:
                continue
            for word in words[words.index("install") + 1 :]:
                match = re.fullmatch(r"\.(?:\[([^\]]*)\])?", word)
                if match:
                    return {extra.strip() for extra in (match.group(1) or "").split(",") if extra}
    return None


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement(text: str) -> tuple[str, set[str]]:
    """(normalized name, extras) of a requirement string such as `celery[redis]>=5.4`."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", text)
    assert match, f"pyproject.toml: cannot read the requirement {text!r}"
    extras = {normalize(extra.strip()) for extra in (match.group(2) or "").split(",") if extra}
    return normalize(match.group(1)), extras


def installed_requirements(extras: set[str]) -> dict[str, set[str]]:
    """Name → extras of what `pip install .[extras]` installs from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project.get("dependencies", []))
    for extra in extras:
        texts += project.get("optional-dependencies", {}).get(extra, [])
    found: dict[str, set[str]] = {}
    for text in texts:
        name, its_extras = requirement(text)
        found.setdefault(name, set()).update(its_extras)
    return found


def build_dockerfile(service: dict) -> Path | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return ROOT / build / "Dockerfile"
    return ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def build_context(service: dict) -> Path:
    build = service["build"]
    return ROOT / (build if isinstance(build, str) else build.get("context", "."))


def worker_names() -> list[str]:
    """Services that run a Celery worker (found at collection; none if the file is broken)."""
    try:
        found = services()
    except UNREADABLE:
        return []
    return sorted(
        name
        for name, service in found.items()
        if command_words(service.get("command"))[:1] == ["celery"]
        and "worker" in command_words(service.get("command"))
    )


def storage_users() -> list[str]:
    return ["api", *worker_names()]


def gpu_devices(service: dict) -> list[dict]:
    deploy = service.get("deploy") or {}
    reservations = (deploy.get("resources") or {}).get("reservations") or {}
    return list(reservations.get("devices") or [])


def uvicorn_words() -> list[str]:
    for step in shell_steps(command_words(services()["api"].get("command"))):
        words = shlex.split(step)
        if words[0] == "uvicorn":
            return words
    pytest.fail("the api command does not start uvicorn")


def defines_name(path: Path, *names: str) -> bool:
    """Whether a module assigns one of `names` at top level."""
    for node in ast.parse(path.read_text()).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(target, ast.Name) and target.id in names for target in targets):
            return True
    return False


def parse_url(value: str):
    """urlsplit of a URL whose `${...}` references (which may hold ':' or '?') are masked."""
    return urlsplit(re.sub(r"\$\{[^}]*\}", "VARIABLE", value))


def nginx_text() -> str:
    return re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())


def nginx_location(prefix: str) -> str:
    match = re.search(r"location\s+" + re.escape(prefix) + r"\s*\{([^{}]*)\}", nginx_text())
    assert match, f"frontend/nginx.conf has no `location {prefix}` block"
    return match.group(1)


def nginx_directive(block: str, name: str) -> str | None:
    match = re.search(r"(?:^|[\s;])" + re.escape(name) + r"\s+([^;]*);", block)
    return match.group(1).strip() if match else None


# --- the services -----------------------------------------------------------------------------


def test_compose_file_parses():
    assert COMPOSE.is_file(), "docker-compose.yml is missing at the repository root"
    data = compose()
    assert isinstance(data, dict), "docker-compose.yml is not a YAML mapping"
    assert isinstance(data.get("services"), dict), "docker-compose.yml has no `services` mapping"


@pytest.mark.parametrize("name", EXPECTED_SERVICES)
def test_service_exists(name):
    assert name in services(), f"docker-compose.yml has no service {name!r}"


@pytest.mark.parametrize("name", ["db", "redis", "api"])
def test_service_has_healthcheck(name):
    check = services()[name].get("healthcheck") or {}
    assert not check.get("disable"), f"service {name!r} disables its healthcheck"
    words = healthcheck_words(services()[name])
    assert words and words != ["NONE"], f"service {name!r} has no healthcheck test"


@pytest.mark.parametrize(
    ("name", "dependency", "conditions"),
    [
        ("api", "db", {"service_healthy"}),
        ("api", "redis", {"service_healthy"}),
        ("dashboard", "api", {"service_started", "service_healthy"}),
    ]
    + [
        (worker, dependency, conditions)
        for worker in worker_names()
        for dependency, conditions in [
            ("db", {"service_healthy"}),
            ("redis", {"service_healthy"}),
            # The api container runs the migrations; healthy means they have finished.
            ("api", {"service_started", "service_healthy"}),
        ]
    ],
)
def test_start_order(name, dependency, conditions):
    depends_on = services()[name].get("depends_on") or {}
    assert dependency in depends_on, f"service {name!r} does not depend on {dependency!r}"
    condition = (
        "service_started"
        if isinstance(depends_on, list)
        else ((depends_on[dependency] or {}).get("condition", "service_started"))
    )
    assert condition in conditions, (
        f"service {name!r} waits for {dependency!r} with condition {condition!r}; "
        f"expected one of {sorted(conditions)}"
    )


# --- the API ----------------------------------------------------------------------------------


def test_api_migrates_before_serving():
    words = command_words(services()["api"].get("command"))
    steps = shell_steps(words)
    assert "alembic upgrade head" in steps, f"the api command does not run migrations: {words}"
    starts = [index for index, step in enumerate(steps) if step.startswith("uvicorn")]
    assert starts, f"the api command does not start uvicorn: {words}"
    assert steps.index("alembic upgrade head") < starts[0], (
        "the api command starts uvicorn before `alembic upgrade head`"
    )
    assert re.search(r"alembic upgrade head\s*&&", words[2]), (
        "`alembic upgrade head` must be joined to uvicorn with `&&`, so that a failed migration "
        "stops the start"
    )


def test_api_target_module_exists():
    target = next(word for word in uvicorn_words()[1:] if not word.startswith("-"))
    module, _, attribute = target.partition(":")
    path = ROOT / (module.replace(".", "/") + ".py")
    if path == API_MAIN and not path.exists():
        pytest.skip(BACKEND_MISSING)
    assert path.is_file(), f"uvicorn serves {target!r} but {path.relative_to(ROOT)} is missing"
    assert defines_name(path, attribute or "app"), (
        f"{path.relative_to(ROOT)} does not define `{attribute}` at top level"
    )


@pytest.mark.parametrize("path", ["alembic.ini", "alembic/env.py"])
def test_alembic_files_exist(path):
    if not API_MAIN.exists():
        pytest.skip(BACKEND_MISSING)
    assert (ROOT / path).is_file(), f"the api runs `alembic upgrade head` but {path} is missing"


def test_api_healthcheck_asks_the_health_endpoint_on_the_served_port():
    port = option(uvicorn_words(), "--port") or "8000"
    test = " ".join(healthcheck_words(services()["api"]))
    url = f"http://127.0.0.1:{port}/api/v1/health"
    assert url in test, f"the api healthcheck does not request {url}: {test!r}"


def test_api_publishes_the_served_port():
    port = option(uvicorn_words(), "--port") or "8000"
    published = [str(spec).rsplit(":", 1)[-1] for spec in services()["api"].get("ports") or []]
    assert port in published, f"the api listens on {port} but publishes {published}"


# --- the workers ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", worker_names())
def test_worker_reserves_one_nvidia_gpu(name):
    devices = gpu_devices(services()[name])
    assert len(devices) == 1, f"worker {name!r} reserves {len(devices)} device entries, not 1"
    device = devices[0]
    assert device.get("driver") == "nvidia", f"worker {name!r}: driver is not nvidia: {device}"
    assert "gpu" in (device.get("capabilities") or []), f"worker {name!r}: no gpu capability"
    assert "count" not in device, f"worker {name!r}: names a count; it must name one device id"
    ids = [str(value) for value in device.get("device_ids") or []]
    assert len(ids) == 1, f"worker {name!r} reserves GPUs {ids}; one worker drives one GPU"


@pytest.mark.parametrize("name", worker_names())
def test_worker_uses_the_gpu_it_reserved(name):
    # The container runtime exposes only the reserved GPU, numbered 0 inside the container
    # whatever its host number; CUDA_VISIBLE_DEVICES=N>0 there would hide it from CUDA.
    visible = environment(services()[name]).get("CUDA_VISIBLE_DEVICES")
    assert visible == "0", (
        f"worker {name!r}: CUDA_VISIBLE_DEVICES is {visible!r}; inside its container the "
        "reserved GPU is device 0"
    )


@pytest.mark.parametrize("name", worker_names())
def test_worker_hostname_names_its_gpu(name):
    service = services()[name]
    hostname = option(command_words(service.get("command")), "--hostname", "-n")
    assert hostname, f"worker {name!r} has no --hostname"
    ids = [str(value) for device in gpu_devices(service) for value in device.get("device_ids", [])]
    match = re.fullmatch(r"gpu(\d+)@%h", hostname)
    assert match, f"worker {name!r}: hostname {hostname!r} is not gpuN@%h"
    assert [match.group(1)] == ids, (
        f"worker {name!r}: hostname {hostname!r} does not match its GPU device ids {ids}"
    )


@pytest.mark.parametrize("name", worker_names())
def test_worker_runs_one_job_at_a_time_from_the_gpu_queue(name):
    words = command_words(services()[name].get("command"))
    expected = {("-Q", "--queues"): "gpu", ("--concurrency", "-c"): "1", ("--pool", "-P"): "solo"}
    for names, value in expected.items():
        assert option(words, *names) == value, f"worker {name!r}: {names[0]} is not {value}"


@pytest.mark.parametrize("what", ["hostname", "GPU"])
def test_workers_are_distinct(what):
    def key(service: dict) -> str | None:
        if what == "hostname":
            return option(command_words(service.get("command")), "--hostname", "-n")
        return json.dumps([device.get("device_ids") for device in gpu_devices(service)])

    keys = {name: key(services()[name]) for name in worker_names()}
    assert len(keys) >= 2, f"expected at least two workers, found {sorted(keys)}"
    assert len(set(keys.values())) == len(keys), f"two workers share a {what}: {keys}"


def test_celery_app_module_exists():
    for name in worker_names():
        target = option(command_words(services()[name].get("command")), "-A", "--app")
        assert target == "worker.celery_app", f"worker {name!r} runs Celery app {target!r}"
    if not CELERY_APP.exists():
        pytest.skip(CELERY_MISSING)
    assert defines_name(CELERY_APP, "app", "celery"), (
        "worker/celery_app.py defines neither `app` nor `celery`, which `celery -A` looks for"
    )


# --- images: every program a service runs is installed ----------------------------------------

BASE_IMAGE_PROGRAMS = {"sh", "python", "python3", "pip"}
# Program → (the distribution that provides it, the code it serves: skip until that exists).
PROJECT_PROGRAMS = {
    "uvicorn": ("uvicorn", API_MAIN, BACKEND_MISSING),
    "alembic": ("alembic", API_MAIN, BACKEND_MISSING),
    "celery": ("celery", CELERY_APP, CELERY_MISSING),
}
IMAGE_PROGRAMS = {"postgres": {"pg_isready", "postgres"}, "redis": {"redis-server", "redis-cli"}}


def root_image_programs() -> list[tuple[str, str]]:
    found = set()
    try:
        found_services = services()
    except UNREADABLE:
        return []
    for name, service in found_services.items():
        if build_dockerfile(service) == ROOT_DOCKERFILE:
            for words in (command_words(service.get("command")), healthcheck_words(service)):
                found.update((name, program) for program in programs(words))
    if ROOT_DOCKERFILE.exists():
        for instruction, arguments in dockerfile_instructions(ROOT_DOCKERFILE):
            if instruction == "CMD":
                found.update(("Dockerfile CMD", p) for p in programs(instruction_words(arguments)))
    return sorted(found)


@pytest.mark.parametrize(("where", "program"), root_image_programs())
def test_program_is_installed_in_the_root_image(where, program):
    base = next(args for instr, args in dockerfile_instructions(ROOT_DOCKERFILE) if instr == "FROM")
    if program in BASE_IMAGE_PROGRAMS:
        assert base.startswith("python:"), f"{where} runs {program} but the base is {base!r}"
        return
    assert program in PROJECT_PROGRAMS, f"{where} runs {program!r}, which the image does not have"
    distribution, code, reason = PROJECT_PROGRAMS[program]
    if not code.exists():
        pytest.skip(reason)
    extras = project_install_extras(ROOT_DOCKERFILE)
    assert extras is not None, "the Dockerfile does not `pip install .` (the project)"
    assert distribution in installed_requirements(extras), (
        f"{where} runs {program} but {distribution!r} is not among the dependencies that "
        f"`pip install .` installs from pyproject.toml"
    )


@pytest.mark.parametrize(
    ("variable", "scheme", "driver"),
    [
        ("STUDIO_DATABASE_URL", "postgresql+psycopg", "psycopg"),
        ("STUDIO_BROKER_URL", "redis", "redis"),
    ],
)
def test_connection_driver_is_installed(variable, scheme, driver):
    used = parse_url(environment(services()["api"])[variable]).scheme
    assert used == scheme, f"{variable} uses the scheme {used!r}, not {scheme}"
    if not API_MAIN.exists():
        pytest.skip(BACKEND_MISSING)
    installed = installed_requirements(project_install_extras(ROOT_DOCKERFILE) or set())
    as_extra = any(driver in extras for extras in installed.values())
    assert driver in installed or as_extra, (
        f"{variable} needs {driver!r}, which pyproject.toml does not install (nor as an extra)"
    )


@pytest.mark.parametrize("image", sorted(IMAGE_PROGRAMS))
def test_program_is_in_the_service_image(image):
    users = [name for name, s in services().items() if str(s.get("image", "")).startswith(image)]
    assert users, f"no service runs the {image} image"
    for name in users:
        service = services()[name]
        for words in (command_words(service.get("command")), healthcheck_words(service)):
            for program in programs(words):
                assert program in IMAGE_PROGRAMS[image] | {"sh"}, (
                    f"service {name!r} runs {program!r}, which the {image} image does not have"
                )


def dockerfile_copies() -> list[tuple[str, str]]:
    """(Dockerfile, source relative to the repository root) for every built service."""
    found = set()
    try:
        found_services = services()
    except UNREADABLE:
        return []
    for service in found_services.values():
        dockerfile = build_dockerfile(service)
        if dockerfile is None or not dockerfile.exists():
            continue
        context = build_context(service)
        for source in copy_sources(dockerfile):
            path = (context / source).resolve()
            relative = path.relative_to(ROOT).as_posix() if path != ROOT else "."
            found.add((dockerfile.relative_to(ROOT).as_posix(), relative))
    return sorted(found)


@pytest.mark.parametrize(
    ("name", "path"),
    [("Dockerfile", ROOT_DOCKERFILE), ("frontend/Dockerfile", FRONTEND_DOCKERFILE)],
)
def test_dockerfile_is_built_by_compose(name, path):
    built = {build_dockerfile(service) for service in services().values()}
    assert path.is_file(), f"{name} is missing"
    assert path in built, f"no service in docker-compose.yml builds {name}"


@pytest.mark.parametrize(("dockerfile", "path"), dockerfile_copies())
def test_copied_path_exists(dockerfile, path):
    if (ROOT / path).exists():
        return
    own_files = {"frontend/Dockerfile", "frontend/nginx.conf"}
    if path.startswith("frontend/") and path not in own_files and not FRONTEND_PACKAGE.exists():
        pytest.skip("frontend/package.json is not written yet")
    backend_parts = ("backend", "alembic", "alembic.ini")
    if path.split("/")[0] in backend_parts and not API_MAIN.exists():
        pytest.skip(BACKEND_MISSING)
    pytest.fail(f"{dockerfile} copies {path}, which is not in the repository")


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and line[0] not in "#!"]


@pytest.mark.parametrize(
    "path", [".venv", ".git", ".cache", "node_modules", "frontend/node_modules"]
)
def test_dockerignore_excludes(path):
    assert path in dockerignore_patterns(), f".dockerignore does not exclude {path}"


@pytest.mark.parametrize(("dockerfile", "path"), dockerfile_copies())
def test_copied_path_is_not_ignored(dockerfile, path):
    for pattern in dockerignore_patterns():
        hit = fnmatch.fnmatch(path.rstrip("/"), pattern) or path.startswith(pattern + "/")
        assert not hit, f"{dockerfile} copies {path} but .dockerignore excludes it ({pattern})"


# --- secrets ----------------------------------------------------------------------------------


def secret_references() -> list[str]:
    """Every `${NAME...}` or `$NAME` reference to a secret in docker-compose.yml (`$$` escapes)."""
    if not COMPOSE.exists():
        return []
    text = COMPOSE.read_text().replace("$$", "")
    found = re.findall(r"\$\{[^}]*\}", text) + re.findall(r"\$[A-Za-z_]\w*", text)
    return sorted({ref for ref in found if any(word in ref.upper() for word in SECRET_WORDS)})


def test_secrets_are_referenced():
    assert secret_references(), "docker-compose.yml refers to no password from the environment"


@pytest.mark.parametrize("reference", secret_references())
def test_secret_has_no_default(reference):
    match = re.fullmatch(r"\$\{([A-Za-z_]\w*)(.*)\}", reference, re.DOTALL)
    assert match, f"{reference} is not in the `${{NAME:?message}}` form (no error when unset)"
    assert match.group(2).startswith(":?"), (
        f"{reference} must use `${{{match.group(1)}:?message}}`: a secret has no default and "
        "an unset one must stop `docker compose`"
    )


def secret_settings() -> list[tuple[str, str]]:
    try:
        found_services = services()
    except UNREADABLE:
        return []
    return sorted(
        (name, key)
        for name, service in found_services.items()
        for key in environment(service)
        if any(word in key.upper() for word in SECRET_WORDS)
    )


@pytest.mark.parametrize(("name", "key"), secret_settings())
def test_secret_setting_comes_from_the_environment(name, key):
    value = environment(services()[name])[key]
    assert "${" in value, f"service {name!r} sets {key} to a literal value in docker-compose.yml"


# --- shared storage and settings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "named"), [("/data", True), ("/models", True), ("/benchmarks", False)]
)
def test_api_and_workers_share_the_mount(target, named):
    found = {name: mounts(services()[name]).get(target) for name in storage_users()}
    missing = [name for name, mount in found.items() if mount is None]
    assert not missing, f"{missing} do not mount anything at {target}"
    sources = {source for source, _ in found.values()}
    assert len(sources) == 1, f"the api and the workers mount different things at {target}: {found}"
    (source,) = sources
    if named:
        declared = compose().get("volumes") or {}
        assert source in declared, f"{target} is mounted from {source!r}, not a declared volume"
    else:
        writable = [name for name, (_, read_only) in found.items() if not read_only]
        assert not writable, f"{writable} mount {target} writable; it holds reference data"


@pytest.mark.parametrize(
    ("variable", "mount"),
    [
        ("STUDIO_DATA_DIR", "/data"),
        ("STUDIO_MODEL_CACHE", "/models"),
        ("HF_HOME", "/models"),
        ("STUDIO_BENCHMARK_DIR", "/benchmarks"),
    ],
)
def test_setting_points_into_its_mount(variable, mount):
    for name in storage_users():
        value = environment(services()[name]).get(variable)
        assert value, f"service {name!r} does not set {variable}"
        assert value == mount or value.startswith(mount + "/"), (
            f"service {name!r}: {variable}={value} is outside the shared mount {mount}"
        )


@pytest.mark.parametrize("variable", ["STUDIO_DATABASE_URL", "STUDIO_BROKER_URL"])
def test_api_and_workers_share_the_setting(variable):
    values = {name: environment(services()[name]).get(variable) for name in storage_users()}
    assert len(set(values.values())) == 1, f"{variable} differs between services: {values}"


def test_database_url_matches_the_db_service():
    raw = environment(services()["api"])["STUDIO_DATABASE_URL"]
    url = parse_url(raw)
    db = environment(services()["db"])
    assert url.hostname == "db", f"STUDIO_DATABASE_URL points at {url.hostname!r}, not db"
    assert url.port == 5432, f"STUDIO_DATABASE_URL uses port {url.port}, not 5432"
    assert url.username == db["POSTGRES_USER"], "STUDIO_DATABASE_URL user is not POSTGRES_USER"
    assert url.path == "/" + db["POSTGRES_DB"], "STUDIO_DATABASE_URL database is not POSTGRES_DB"
    assert re.search(r"://[^:/@]+:\$\{POSTGRES_PASSWORD:\?", raw), (
        "STUDIO_DATABASE_URL does not take its password from POSTGRES_PASSWORD"
    )


def test_broker_url_matches_the_redis_service():
    url = parse_url(environment(services()["api"])["STUDIO_BROKER_URL"])
    assert url.hostname == "redis", f"STUDIO_BROKER_URL points at {url.hostname!r}, not redis"


# --- the dashboard ----------------------------------------------------------------------------


def test_nginx_proxies_api_to_the_api_service():
    block = nginx_location("/api/")
    target = nginx_directive(block, "proxy_pass")
    port = option(uvicorn_words(), "--port") or "8000"
    assert target == f"http://api:{port}", (
        f"nginx passes /api/ to {target!r}, not http://api:{port} (no path, so that /api/ is kept)"
    )
    assert "api" in services(), "nginx proxies to `api`, which is not a compose service"


@pytest.mark.parametrize("directive", ["proxy_buffering", "proxy_cache"])
def test_nginx_streams_api_responses(directive):
    value = nginx_directive(nginx_location("/api/"), directive)
    assert value == "off", f"nginx `{directive}` for /api/ is {value!r}; SSE needs it off"


def test_nginx_falls_back_to_the_app():
    value = nginx_directive(nginx_location("/"), "try_files") or ""
    assert value.split()[-1:] == ["/index.html"], (
        f"nginx `location /` does not fall back to /index.html (try_files {value!r})"
    )


def test_dashboard_serves_what_the_build_copies():
    root = nginx_directive(nginx_text(), "root")
    destinations = [
        instruction_words(arguments)[-1]
        for instruction, arguments in dockerfile_instructions(FRONTEND_DOCKERFILE)
        if instruction == "COPY" and "--from" in arguments
    ]
    assert root in [d.rstrip("/") for d in destinations], (
        f"nginx serves {root} but frontend/Dockerfile copies the build to {destinations}"
    )
    configs = [
        instruction_words(arguments)
        for instruction, arguments in dockerfile_instructions(FRONTEND_DOCKERFILE)
        if instruction == "COPY" and "nginx.conf" in arguments
    ]
    assert any(words[-1].startswith("/etc/nginx/conf.d/") for words in configs), (
        "frontend/Dockerfile does not install nginx.conf into /etc/nginx/conf.d/"
    )


def test_dashboard_publishes_the_nginx_port():
    listen = (nginx_directive(nginx_text(), "listen") or "").split()[0]
    published = [str(spec).rsplit(":", 1)[-1] for spec in services()["dashboard"].get("ports", [])]
    assert listen in published, f"nginx listens on {listen} but the dashboard publishes {published}"


# --- the optional vLLM service (profile "vllm"): serves the studio's LoRA adapters ------------


def vllm_service() -> dict:
    return services()["vllm"]


def test_vllm_is_only_in_its_profile():
    # Never started by a plain `docker compose up`: it needs a GPU and a chosen base model.
    assert vllm_service().get("profiles") == ["vllm"]


def test_vllm_runs_the_official_openai_server_image():
    image = str(vllm_service().get("image", ""))
    assert image.startswith("vllm/vllm-openai:"), f"vllm runs {image!r}"
    assert not image.endswith(":latest") and ":${" in image, "pin the vLLM version (overridable)"


def test_vllm_serves_lora_adapters_from_the_base_model():
    service = vllm_service()
    words = [*command_words(service.get("entrypoint")), *command_words(service.get("command"))]
    assert words[:2] == ["vllm", "serve"], words
    assert "--enable-lora" in words
    assert words[2].startswith("${VLLM_BASE_MODEL:?"), "the base model must be chosen, no default"
    modules = words[words.index("--lora-modules") + 1]
    assert modules.startswith("${VLLM_LORA_MODULES:?"), "the adapters must be chosen"
    # The example in the message points into the exports mount, with the served name job-<id>.
    assert re.search(r"job-\d+=/data/storage/artifacts/job-\d+/adapter", modules), modules
    rank = int(words[words.index("--max-lora-rank") + 1])
    assert rank >= 32, "the studio's default LoRA rank (32) must fit"
    port = words[words.index("--port") + 1]
    assert f"{port}:{port}" in service.get("ports", []), "vllm publishes the port it serves"


def test_vllm_reads_the_adapters_from_the_studio_volume_read_only():
    data = mounts(vllm_service()).get("/data")
    assert data is not None, "vllm does not mount the studio's data volume at /data"
    source, read_only = data
    assert source == mounts(services()["api"])["/data"][0], "not the volume the workers write"
    assert read_only, "vllm only reads the adapters"
    assert mounts(vllm_service()).get("/models", ("",))[0] == "model-cache"


def test_vllm_reserves_a_gpu():
    [device] = gpu_devices(vllm_service())
    assert device.get("driver") == "nvidia" and "gpu" in device.get("capabilities", [])
