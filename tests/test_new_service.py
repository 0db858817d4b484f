"""`contracts new-service` (issue 12): the principal edit, refusals, manifests, template updates, and
generated services built and run against the broker.

Services are generated from a copy of the fixture registry whose runtimes are vendored into
generated/ (what `contracts init` makes for a company), so each service installs and builds from
the registry checkout beside it, as docs/adoption.md describes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from contracts_cli.model import Location, TopicBinding
from contracts_cli.service.principals import add_principal

from tests.registry_fixtures import EMAIL, REPOSITORY, commit_all, git, run_contracts
from tests.test_apply import DEV, kafka_free_env, make_registry
from tests.test_generate import generation_cache

FIXTURE = REPOSITORY / "tests" / "fixtures" / "registry"
VENDORED_CONFIG = """version = "0.3.0"

[python]
package = "fixture_contracts"
distribution = "fixture-contracts"

[go]
module = "example.com/fixture/gen"

[rust]
crate = "fixture-contracts"
"""
CONSUMED, PRODUCED = "orders.placed.v1", "inventory.stock.v1"
SERVICE = "order-audit"
SHUTDOWN_SECONDS = 10.0


# ------------------------------------------------------------------------------ the principal edit

OPTION = """message OrderPlaced {{
  // The topic; a `}}` in a comment must not end the option, nor "}}" in a string.
  option (contracts.v1.topic) = {{
    name: "orders.placed.v1"  // "quoted }} brace"
{body}  }};
  string order_id = 1;
}}
"""


def binding() -> TopicBinding:
    return TopicBinding(
        "orders.placed.v1", "orders.v1.OrderPlaced", "", None, None, "", "", "", (), (), "", Location("x.proto", 3, 3)
    )


@pytest.mark.parametrize(
    ("body", "role", "principal", "expected"),
    [
        # after the last entry of the same field, with its indentation
        (
            '    producers: "svc-a"\n    consumers: "svc-b"\n',
            "consumers",
            "User:svc-new",
            '    producers: "svc-a"\n    consumers: "svc-b"\n    consumers: "svc-new"\n',
        ),
        # no entry of that field yet: after the other principal field
        (
            '    consumers: "svc-b"\n    owner: "team"\n',
            "producers",
            "User:svc-new",
            '    consumers: "svc-b"\n    producers: "svc-new"\n    owner: "team"\n',
        ),
        # a list gains one element
        (
            '    consumers: ["svc-b", "svc-c"]\n',
            "consumers",
            "svc-new",
            '    consumers: ["svc-b", "svc-c", "svc-new"]\n',
        ),
        # a non-User principal keeps its type
        ('    consumers: "svc-b"\n', "consumers", "Group:ops", '    consumers: "svc-b"\n    consumers: "Group:ops"\n'),
        # no principals at all: after the last field
        ("", "producers", "User:svc-new", '    producers: "svc-new"\n'),
    ],
)
def test_add_principal_inserts_one_entry_and_keeps_everything_else(
    body: str, role: str, principal: str, expected: str
) -> None:
    text = OPTION.format(body=body)
    edited = add_principal(text, binding(), role, principal)
    if body == "":
        assert edited == text.replace('brace"\n', 'brace"\n    producers: "svc-new"\n')
    else:
        assert edited == OPTION.format(body=expected)


@pytest.mark.parametrize("listed", ['"svc-b"', '"User:svc-b"'])
def test_add_principal_leaves_a_listed_principal_alone(listed: str) -> None:
    text = OPTION.format(body=f"    consumers: {listed}\n")
    assert add_principal(text, binding(), "consumers", "User:svc-b") == text
    assert add_principal(text, binding(), "producers", "svc-b") != text  # another role is another grant


# ------------------------------------------------------------------------------ registries and runs


def vendored_registry(directory: Path, env: dict[str, str], *, generate: bool) -> Path:
    """A git checkout of the fixture registry with vendored runtimes (generated when asked)."""
    registry = directory / "registry"
    shutil.copytree(FIXTURE, registry)
    (registry / "contracts.toml").write_text(VENDORED_CONFIG, encoding="utf-8")
    git(registry, "init", "--quiet", "--initial-branch=main")
    if generate:
        result = run_contracts(["gen"], registry, env, timeout=600)
        assert result.returncode == 0, result.stderr
    commit_all(registry, "registry")
    return registry


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = kafka_free_env(tmp_path_factory)
    env["CONTRACTS_CACHE"] = str(generation_cache(tmp_path_factory))
    env["BUF_CACHE_DIR"] = str(Path(env["CONTRACTS_CACHE"]) / "buf")
    return env


@pytest.fixture(scope="module")
def generated_registry(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Path:
    return vendored_registry(tmp_path_factory.mktemp("new-service"), cli_env, generate=True)


@pytest.fixture
def plain_registry(tmp_path: Path, cli_env: dict[str, str]) -> Path:
    return vendored_registry(tmp_path, cli_env, generate=False)


def new_service(registry: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run_contracts(["new-service", *args], registry, env, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def render(registry: Path, env: dict[str, str], out: Path, language: str, *extra: str) -> Path:
    args = [SERVICE, "--lang", language, "--consumes", CONSUMED, "--produces", PRODUCED, "--out", str(out), *extra]
    result = new_service(registry, env, *args)
    assert result.returncode == 0, result.stderr
    return out


# ------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["order-audit", "--lang", "python", "--consumes", "no.such.v1"], 'unknown topic "no.such.v1"'),
        (["Order_Audit", "--lang", "python", "--consumes", CONSUMED], 'service name "Order_Audit" is not valid'),
        (["order-audit", "--lang", "cobol", "--consumes", CONSUMED], '--lang "cobol"'),
        (["order-audit", "--lang", "go", "--consumes", CONSUMED, "--out", "full"], "is not empty"),
    ],
)
def test_a_refused_request_is_one_line_exit_2_and_writes_nothing(
    plain_registry: Path, cli_env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    (plain_registry / "full").mkdir()
    (plain_registry / "full" / "keep.txt").write_text("mine\n")
    before = git(plain_registry, "status", "--porcelain", "--untracked-files=all")
    result = new_service(plain_registry, cli_env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert git(plain_registry, "status", "--porcelain", "--untracked-files=all") == before
    assert not (tmp_path / "order-audit").exists()
    assert sorted(p.name for p in (plain_registry / "full").iterdir()) == ["keep.txt"]


# ------------------------------------------------------------------------------ manifests


def dockerfile_user(dockerfile: str) -> str:
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    users = [line.split()[1] for line in final_stage.splitlines() if line.startswith("USER ")]
    return users[-1]


@pytest.mark.parametrize("language", ["python", "go", "rust"])
def test_probes_point_at_what_the_service_serves_and_it_runs_as_non_root(
    plain_registry: Path, cli_env: dict[str, str], tmp_path: Path, language: str
) -> None:
    service = render(plain_registry, cli_env, tmp_path / language, language)
    documents = [
        document
        for path in sorted((service / "k8s").glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    served_port = int(env["HEALTH_PORT"])
    assert [port["containerPort"] for port in container["ports"]] == [served_port]
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": served_port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": served_port}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["envFrom"] == [{"secretRef": {"name": f"{SERVICE}-kafka"}}]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (str(served_port), "/metrics")
    service_document = next(d for d in documents if d["kind"] == "Service")
    assert service_document["spec"]["ports"][0]["port"] == served_port
    assert pod["securityContext"]["runAsNonRoot"] is True
    uid = pod["securityContext"]["runAsUser"]
    assert uid != 0
    dockerfile = (service / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2, "a multi-stage build"
    assert dockerfile_user(dockerfile) in (f"{uid}:{uid}", str(uid))
    assert f"EXPOSE {served_port}" in dockerfile.splitlines()
    workflow = yaml.safe_load((service / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    assert any("docker build" in run for run in steps) and workflow["jobs"]["test"]["services"]["kafka"]


# ------------------------------------------------------------------------------ template updates


def template_repository(directory: Path, version: str) -> Path:
    repository = directory / "template"
    shutil.copytree(REPOSITORY / "templates" / "service", repository)
    git(repository, "init", "--quiet", "--initial-branch=main")
    commit_all(repository, "template")
    git(repository, "tag", version)
    return repository


def move_template(repository: Path, version: str, edits: dict[str, tuple[str, str]]) -> None:
    for relative, (old, new) in edits.items():
        path = repository / relative
        text = path.read_text()
        assert text.count(old) == 1, (relative, old)
        path.write_text(text.replace(old, new))
    commit_all(repository, f"template {version}")
    git(repository, "tag", version)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


DOCKERFILE_CHANGE = ("ENV PATH=/opt/service/bin:$PATH", "ENV PYTHONDONTWRITEBYTECODE=1 PATH=/opt/service/bin:$PATH")
MAIN_CHANGE = (
    'logging.basicConfig(level=logging.INFO, format="',
    'logging.basicConfig(level=logging.INFO, format="svc ',
)
HANDLER_EDIT = ('        """One record of orders.placed.v1."""\n', '        """Our business logic."""\n')


def test_an_update_keeps_the_teams_edits_and_brings_the_template_change(
    plain_registry: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    template = template_repository(tmp_path, "v1.0.0")
    service = render(plain_registry, cli_env, tmp_path / "service", "python", "--template", str(template))
    commit_all(service, "new service")
    handlers = service / "src" / "order_audit" / "handlers.py"
    edit(handlers, *HANDLER_EDIT)
    commit_all(service, "business logic")
    move_template(
        template,
        "v1.1.0",
        {"python/Dockerfile.jinja": DOCKERFILE_CHANGE, "python/src/{{ module_name }}/main.py.jinja": MAIN_CHANGE},
    )
    result = new_service(plain_registry, cli_env, "--update", str(service), "--template", str(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert HANDLER_EDIT[1] in handlers.read_text()
    assert DOCKERFILE_CHANGE[1] in (service / "Dockerfile").read_text()
    assert MAIN_CHANGE[1] in (service / "src" / "order_audit" / "main.py").read_text()
    assert yaml.safe_load((service / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"


def test_an_update_that_conflicts_with_an_edit_reports_it(
    plain_registry: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    template = template_repository(tmp_path, "v1.0.0")
    service = render(plain_registry, cli_env, tmp_path / "service", "python", "--template", str(template))
    commit_all(service, "new service")
    edit(service / "Dockerfile", DOCKERFILE_CHANGE[0], "ENV PYTHONOPTIMIZE=1 PATH=/opt/service/bin:$PATH")
    commit_all(service, "our Dockerfile")
    move_template(template, "v1.1.0", {"python/Dockerfile.jinja": DOCKERFILE_CHANGE})
    result = new_service(plain_registry, cli_env, "--update", str(service), "--template", str(template))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "conflict: Dockerfile" in result.stdout
    text = (service / "Dockerfile").read_text()
    assert "<<<<<<< before updating" in text and "PYTHONOPTIMIZE" in text and "PYTHONDONTWRITEBYTECODE" in text


def test_the_cli_keeps_its_template_versions_in_a_tagged_repository(
    plain_registry: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Without --template the answers point at the cache repository, tagged with the CLI's version."""
    service = render(plain_registry, cli_env, tmp_path / "service", "python")
    answers = yaml.safe_load((service / ".copier-answers.yml").read_text())
    source = Path(answers["_src_path"])
    assert source.is_relative_to(Path(cli_env["CONTRACTS_CACHE"]))
    assert answers["_commit"] in git(source, "tag", "--list").split()
    commit_all(service, "new service")
    result = new_service(plain_registry, cli_env, "--update", str(service))
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(service, "status", "--porcelain") == ""  # the same version: nothing to change


# ------------------------------------------------------------------------------ access: lint and apply


@pytest.mark.kafka
def test_the_principal_reaches_the_contracts_lint_passes_and_apply_plans_exactly_its_acls(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, kafka_sasl: object
) -> None:
    from tests.kafka_broker import BrokerInfo

    assert isinstance(kafka_sasl, BrokerInfo)
    env = kafka_free_env(tmp_path_factory)
    env.update({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN"})
    env.update({"KAFKA_SASL_USERNAME": "admin", "KAFKA_SASL_PASSWORD": kafka_sasl.users["admin"]})
    registry = make_registry(tmp_path / "registry", env, kafka_sasl.bootstrap_servers)
    git(registry.path, "init", "--quiet", "--initial-branch=main")
    commit_all(registry.path, "registry")
    applied = registry.apply(*DEV)
    assert applied.code == 0, applied.stdout + applied.stderr
    email, audit = registry.topic("email.dispatch.v1"), registry.topic("audit.events.v1")
    args = ["svc-report", "--lang", "python", "--consumes", email, "--produces", audit, "--out", str(tmp_path / "svc")]
    result = new_service(registry.path, env, *args)
    assert result.returncode == 0, result.stderr
    diff = git(registry.path, "diff", "--unified=0")
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert sorted(added) == ['+    consumers: "svc-report"', '+    producers: "svc-report"'], diff
    assert f"+++ b/{EMAIL}" in diff
    assert [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")] == []
    lint = run_contracts(["lint"], registry.path, env)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    plan = registry.apply(*DEV, "--dry-run", "--format", "json")
    assert plan.code == 0, plan.stdout + plan.stderr
    assert (plan.plan["create"], plan.plan["change"], plan.plan["impossible"]) == ([], [], [])
    rows: list[dict[str, Any]] = plan.plan["acls"]  # type: ignore[assignment]
    planned = {
        (row["kind"], row["details"]["resource_type"], row["topic"], row["details"]["operation"])
        for row in rows
        if row["details"]["principal"] == "User:svc-report" and row["details"]["permission"] == "ALLOW"
    }
    assert len(rows) == len(planned), rows  # nothing else: no revocation, no other principal
    kinds = {kind for kind, *_ in planned}
    assert len(kinds) == 1 and "revoke" not in kinds, kinds
    grant = kinds.pop()
    assert planned == {
        (grant, "topic", email, "READ"),
        (grant, "topic", email, "DESCRIBE"),
        (grant, "topic", f"{email}.dlq", "WRITE"),
        (grant, "group", "svc-report", "READ"),
        (grant, "topic", audit, "WRITE"),
        (grant, "topic", audit, "DESCRIBE"),
    }


# ------------------------------------------------------------------------------ services, built and run


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
    return port


def service_env(kafka_bootstrap: str) -> dict[str, str]:
    """A user's shell: no venv of ours, no CLI, the broker from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "KAFKA_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    return env


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:
        return error.code
    return status


def run_and_stop(command: list[str], env: dict[str, str], cwd: Path) -> None:
    """Start the service, see /livez, /readyz and /metrics answer 200, SIGTERM it, see it exit cleanly in time."""
    port = free_port()
    process = subprocess.Popen(
        command, cwd=cwd, env={**env, "HEALTH_PORT": str(port)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        statuses: dict[str, int] = {}
        while time.monotonic() < deadline:
            try:
                statuses = {path: get(f"http://127.0.0.1:{port}{path}") for path in ("/livez", "/readyz", "/metrics")}
            except OSError:
                statuses = {}
            if statuses and all(status == 200 for status in statuses.values()):
                break
            assert process.poll() is None, process.communicate()[0].decode(errors="replace")
            time.sleep(0.5)
        assert statuses and all(status == 200 for status in statuses.values()), statuses
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = process.communicate(timeout=SHUTDOWN_SECONDS + 5)
        assert time.monotonic() - started <= SHUTDOWN_SECONDS, output.decode(errors="replace")
        assert process.returncode == 0, output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.kafka
def test_a_python_service_installs_passes_its_own_test_serves_health_and_stops_on_sigterm(
    generated_registry: Path, cli_env: dict[str, str], kafka_bootstrap: str, tmp_path: Path
) -> None:
    service = render(generated_registry, cli_env, tmp_path / "python", "python")
    env = service_env(kafka_bootstrap)
    subprocess.run([sys.executable, "-m", "venv", str(service / ".venv")], check=True, env=env)
    python = str(service / ".venv" / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, "-r", "requirements.txt", "-e", ".[test]"], cwd=service, env=env, capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    tested = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=service, env=env, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout
    run_and_stop([str(service / ".venv" / "bin" / SERVICE)], env, service)


@pytest.mark.slow
@pytest.mark.kafka
def test_go_and_rust_services_build_pass_their_own_tests_serve_health_and_stop_on_sigterm(
    generated_registry: Path, cli_env: dict[str, str], kafka_bootstrap: str, tmp_path: Path
) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    from tests.programs import ROOT as PROGRAMS_ROOT
    from tests.programs import build_go_and_rust

    services = tmp_path / "services"
    for language in ("go", "rust"):
        render(generated_registry, cli_env, services / language, language)
    # The Rust runtime cannot create topics; `contracts apply` would, on a shared cluster.
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    names = [name for topic in (CONSUMED, PRODUCED) for name in (topic, f"{topic}.dlq")]
    existing = admin.list_topics(timeout=10).topics
    missing = [NewTopic(n, num_partitions=1, replication_factor=1) for n in names if n not in existing]
    for future in (admin.create_topics(missing) if missing else {}).values():
        future.result(timeout=30)
    binaries = build_go_and_rust(services, tmp_path, "order-audit-go", SERVICE, "the generated services")
    env = service_env(kafka_bootstrap)
    env.setdefault("CARGO_TARGET_DIR", str(PROGRAMS_ROOT / ".cache" / "cargo-target"))
    for command, directory in ((["go", "vet", "./..."], "go"), (["go", "test", "-count=1", "./..."], "go")):
        result = subprocess.run(command, cwd=services / directory, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    cargo = subprocess.run(
        ["cargo", "test", "--quiet", "--message-format=short"],
        cwd=services / "rust",
        env=env,
        capture_output=True,
        text=True,
    )
    assert cargo.returncode == 0, cargo.stdout + cargo.stderr
    assert "warning" not in cargo.stderr, cargo.stderr
    assert "1 passed" in cargo.stdout, cargo.stdout
    run_and_stop([str(binaries["go"])], env, services / "go")
    run_and_stop([str(binaries["rust"])], env, services / "rust")
