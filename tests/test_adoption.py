"""Generated packages install and build from a service repository outside the registry (issue 9, item 4).

A registry that is not this checkout gets the runtimes vendored into its generated tree (the
runtimes are on no public index): `contracts_runtime` beside the Python package, package
`<module>/contracts` inside the Go module, the crate `generated/rust/contracts-runtime` as a path
dependency. The fast tests check what `gen` writes and what it leaves out. The slow one does what a
company would do: the CLI wheel in a venv of its own, `contracts init` in a fresh git repository,
the fixture registry's contracts, `contracts gen`; then three service projects in temporary
directories, each depending on the generated package the documented way (docs/adoption.md), built
with only the public package registries reachable, and run against the broker: Python writes and Go
reads, Go writes and Rust reads, Rust writes and Python reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from contracts_cli.generate.python import GENCODE_PROTOBUF, runtime_requirements
from contracts_cli.generate.vendor import runtime_sources

from tests.installed_cli import VENVS, installed_cli_venv, user_env
from tests.programs import build_go_and_rust
from tests.registry_fixtures import REPOSITORY, contracts_command, contracts_env, git
from tests.test_generate import generation_cache

FIXTURE = REPOSITORY / "tests" / "fixtures" / "registry"
# The fixture's names, without any local runtime: what `contracts init` writes for a new company.
NAMES = ["--python-package", "fixture_contracts", "--go-module", "example.com/fixture/gen"]
NAMES += ["--rust-crate", "fixture-contracts"]
VENDORED_CONFIG = """version = "0.3.0"

[python]
package = "fixture_contracts"
distribution = "fixture-contracts"

[go]
module = "example.com/fixture/gen"

[rust]
crate = "fixture-contracts"
"""
ORDERS = "orders.placed.v1"  # a string-keyed binding of the fixture registry
RECORDS = 5


def gen(registry: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*contracts_command(), "gen", *args], cwd=registry, env=env, capture_output=True, text=True, timeout=300
    )


# What gen vendors (the checkout's CLI, on a copy of the fixture without local runtimes)


@pytest.fixture(scope="module")
def vendored_registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    registry = tmp_path_factory.mktemp("vendored") / "registry"
    shutil.copytree(FIXTURE, registry)
    (registry / "contracts.toml").write_text(VENDORED_CONFIG, encoding="utf-8")
    env = contracts_env(generation_cache(tmp_path_factory))
    result = gen(registry, env)
    assert result.returncode == 0, result.stderr
    return registry, env


def tree(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.parametrize(
    ("language", "vendored_dir"),
    [("python", "python/contracts_runtime"), ("go", "go/contracts"), ("rust", "rust/contracts-runtime")],
)
def test_gen_vendors_the_runtime_sources_and_nothing_else(
    vendored_registry: tuple[Path, dict[str, str]], language: str, vendored_dir: str
) -> None:
    registry, _ = vendored_registry
    written = tree(registry / "generated" / vendored_dir)
    if language == "go":  # contracts/v1 below it is the registry's own options.proto, compiled
        written = {name: content for name, content in written.items() if "/" not in name}
    note = written.pop("VENDORED.md", None)
    if language == "python":
        assert note is None  # the package says its version itself (contracts_runtime.__version__)
    else:
        assert note is not None and b"contracts gen" in note
    assert written == runtime_sources(language)
    names = "\n".join(written)
    assert re.search(r"_test\.go$|(^|/)tests?/|testdata|target/|Cargo\.lock|__pycache__", names, re.M) is None
    assert {"go": "producer.go", "python": "producer.py", "rust": "src/lib.rs"}[language] in written


def test_gen_check_covers_the_vendored_files(vendored_registry: tuple[Path, dict[str, str]]) -> None:
    registry, env = vendored_registry
    vendored = registry / "generated" / "go" / "contracts" / "producer.go"
    original = vendored.read_bytes()
    try:
        vendored.write_bytes(original + b"// edited by hand\n")
        (registry / "generated" / "rust" / "contracts-runtime" / "src" / "stray.rs").write_text("// stray\n")
        result = gen(registry, env, "--check")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "stale: go/contracts/producer.go" in result.stdout + result.stderr
        assert "extra: rust/contracts-runtime/src/stray.rs" in result.stdout + result.stderr
    finally:
        vendored.write_bytes(original)
        (registry / "generated" / "rust" / "contracts-runtime" / "src" / "stray.rs").unlink()
    assert gen(registry, env, "--check").returncode == 0


def test_gen_with_vendored_runtimes_is_deterministic(
    vendored_registry: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    registry, env = vendored_registry
    again = tmp_path / "again"
    result = gen(registry, env, "--out", str(again))
    assert result.returncode == 0, result.stderr
    assert tree(again) == tree(registry / "generated")


def test_generated_packages_point_at_their_vendored_runtimes(vendored_registry: tuple[Path, dict[str, str]]) -> None:
    registry, _ = vendored_registry
    generated = registry / "generated"
    pyproject = tomllib.loads((generated / "python" / "pyproject.toml").read_text())
    assert "contracts_runtime" in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(r.startswith("contracts-runtime") for r in pyproject["project"]["dependencies"])
    topics_go = (generated / "go" / "topics" / "topics.go").read_text()
    assert 'contracts "example.com/fixture/gen/contracts"' in topics_go
    go_mod = (generated / "go" / "go.mod").read_text()
    assert "replace" not in go_mod and "contractsdev" not in go_mod
    cargo = tomllib.loads((generated / "rust" / "Cargo.toml").read_text())
    assert cargo["dependencies"]["contracts-runtime"]["path"] == "contracts-runtime"


def test_generated_requirements_are_the_runtime_pyprojects(vendored_registry: tuple[Path, dict[str, str]]) -> None:
    """A vendored runtime brings the ranges runtime/python/pyproject.toml states (the wheel ships that
    file), with protobuf narrowed to what protoc's gencode needs."""
    stated = tomllib.loads((REPOSITORY / "runtime" / "python" / "pyproject.toml").read_text())["project"]
    assert runtime_requirements() == tuple(stated["dependencies"])
    registry, _ = vendored_registry
    generated = tomllib.loads((registry / "generated" / "python" / "pyproject.toml").read_text())["project"]
    expected = [GENCODE_PROTOBUF, *(r for r in stated["dependencies"] if not r.startswith("protobuf"))]
    assert generated["dependencies"] == expected


def test_local_go_runtime_requirements_reach_the_generated_module(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With runtime_replace, every requirement of runtime/go is in the generated go.mod (go build
    refuses a module whose go.mod misses one) and every checksum of its go.sum in the generated one."""
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE, registry)
    runtime_go = REPOSITORY / "runtime" / "go"
    config = VENDORED_CONFIG.replace("[rust]", f'runtime_replace = "{runtime_go}"\n\n[rust]')
    (registry / "contracts.toml").write_text(config, encoding="utf-8")
    result = gen(registry, contracts_env(generation_cache(tmp_path_factory)), "--lang", "go")
    assert result.returncode == 0, result.stderr
    generated_mod = (registry / "generated" / "go" / "go.mod").read_text()
    runtime_mod = (runtime_go / "go.mod").read_text()
    requirements = re.findall(r"^\s*(?:require\s+)?([a-z0-9.\-]+\.[a-z]+/\S+) (v\S+)", runtime_mod, re.M)
    assert len(requirements) > 3
    for path, version in requirements:
        assert re.search(rf"^\t{re.escape(path)} \S+", generated_mod, re.M), f"{path} is missing from go.mod"
        assert f"{path} {version}" in generated_mod or path == "google.golang.org/protobuf"
    assert f"replace github.com/contractsdev/contracts/runtime/go => {runtime_go}" in generated_mod
    runtime_sum = set((runtime_go / "go.sum").read_text().splitlines())
    assert runtime_sum <= set((registry / "generated" / "go" / "go.sum").read_text().splitlines())


# Version ranges (item 5): the runtime's tests on the lowest versions its pyproject allows. The run
# on the pinned versions is the suite's own (runtime/python/tests in the development venv).

# grpcio-tools compiles the tests' contract: the oldest release whose protoc output loads on the
# lowest protobuf (grpcio-tools 1.63 requires protobuf>=5.26.1,<6).
LOWEST_TEST_TOOLS = ("pytest==9.2.0", "grpcio-tools==1.63.0")


def lowest_requirements() -> list[str]:
    """Each runtime dependency pinned to its lower bound, the SDK at the API's, and the test tools."""
    pinned = []
    for requirement in runtime_requirements():
        name, lower = re.fullmatch(r"([A-Za-z0-9_.\-]+)>=([^,]+),.*", requirement).groups()  # type: ignore[union-attr]
        pinned.append(f"{name}=={lower}")
        if name == "opentelemetry-api":
            pinned.append(f"opentelemetry-sdk=={lower}")
    return [*pinned, *LOWEST_TEST_TOOLS]


@pytest.fixture(scope="session")
def lowest_venv() -> Path:
    """A venv with the lowest allowed versions, kept between sessions under a hash of what it holds."""
    requirements = lowest_requirements()
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:16]
    venv = VENVS / f"runtime-lowest-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert install.returncode == 0, install.stderr
        (venv / ".complete").write_text("\n".join(requirements) + "\n")
    return python


def run_runtime_tests(python: Path, marker: str, env: dict[str, str]) -> None:
    # The runtime from source: installing it would resolve its ranges to the newest versions again.
    env = {**env, "PYTHONPATH": str(REPOSITORY / "runtime" / "python" / "src")}
    tests = str(REPOSITORY / "runtime" / "python" / "tests")
    result = subprocess.run(
        [str(python), "-m", "pytest", tests, "-m", marker, "-q", "-p", "no:cacheprovider"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout
    versions = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    held = {line.lower().replace("_", "-") for line in versions.splitlines()}
    for requirement in lowest_requirements():
        assert requirement.lower() in held, f"{requirement} is not what the venv holds"


def test_runtime_unit_tests_pass_on_the_lowest_allowed_versions(lowest_venv: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "KAFKA_"))}
    run_runtime_tests(lowest_venv, "not kafka", env)


@pytest.mark.slow
@pytest.mark.kafka
def test_runtime_broker_tests_pass_on_the_lowest_allowed_versions(lowest_venv: Path, kafka_bootstrap: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "KAFKA_"))}
    run_runtime_tests(lowest_venv, "kafka", {**env, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap})


# Three service repositories outside the registry, on the installed CLI's output

PYTHON_SERVICE = '''"""A Python service outside the registry: orders through the installed generated package."""

import json
import sys

from contracts_runtime import Consumer, Producer, Record, Topic
from fixture_contracts.orders.v1.orders_pb2 import OrderPlaced
from fixture_contracts.topics import ORDERS_PLACED_V1


def main(command: str, name: str, *args: str) -> None:
    binding = ORDERS_PLACED_V1
    topic = Topic(name, OrderPlaced, binding.key_field, binding.settings, type_name=binding.type_name)
    if command == "produce":
        with Producer(source="//service-python") as producer:
            for index in range(int(args[0])):
                order = OrderPlaced(order_id=f"python-{index}", items=[OrderPlaced.LineItem(sku_id=index, quantity=2)])
                producer.send(topic, order).result(timeout=30)
        return

    def handle(record: Record[OrderPlaced]) -> None:
        order = record.message
        line = {"order_id": order.order_id, "items": len(order.items), "source": record.ce_source}
        print(json.dumps(line), flush=True)

    with Consumer(group_id=args[0]) as consumer:
        consumer.subscribe(topic, handle)
        consumer.run(stop_after=int(args[1]), timeout=60)


main(*sys.argv[1:])
'''

GO_MOD = """module example.com/service

go 1.26.0

require example.com/fixture/gen v0.0.0

replace example.com/fixture/gen => {generated}
"""

GO_SERVICE = """// Command service is a Go service outside the registry: orders through the generated module.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"example.com/fixture/gen/contracts"
	ordersv1 "example.com/fixture/gen/orders/v1"
	"example.com/fixture/gen/topics"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	topic := topics.OrdersPlacedV1
	topic.Name = args[1]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if args[0] == "produce" {
		count, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		producer, err := contracts.NewProducer(contracts.WithSource("//service-go"))
		if err != nil {
			return err
		}
		for index := range count {
			order := &ordersv1.OrderPlaced{
				OrderId: fmt.Sprintf("go-%d", index),
				Items:   []*ordersv1.OrderPlaced_LineItem{{SkuId: int64(index), Quantity: 2}},
			}
			if err := contracts.Send(ctx, producer, topic, order); err != nil {
				return err
			}
		}
		return producer.Close()
	}
	count, err := strconv.Atoi(args[3])
	if err != nil {
		return err
	}
	consumer, err := contracts.NewConsumer(args[2], contracts.WithStopAfter(count))
	if err != nil {
		return err
	}
	defer consumer.Close()
	handle := func(_ context.Context, order *ordersv1.OrderPlaced, md contracts.Metadata) error {
		line, err := json.Marshal(map[string]any{
			"order_id": order.GetOrderId(), "items": len(order.GetItems()), "source": md.Source,
		})
		fmt.Println(string(line))
		return err
	}
	return contracts.Consume(ctx, consumer, topic, handle)
}
"""

CARGO_TOML = """[package]
name = "service"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
fixture-contracts = {{ path = "{generated}" }}
prost = "0.14.6"
"""

RUST_SERVICE = r"""//! A Rust service outside the registry: orders through the generated crate.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use fixture_contracts::orders::v1::{order_placed::LineItem, OrderPlaced};
use fixture_contracts::runtime::kafka::{config_from_env, Consumer, Producer, ProducerOptions};
use fixture_contracts::runtime::{key, Record, Topic};
use fixture_contracts::topics::ORDERS_PLACED_V1;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("service: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let name: &'static str = Box::leak(args[1].clone().into_boxed_str());
    let key_fn = |m: &OrderPlaced| key::string(&m.order_id);
    let topic = Topic::new(name, ORDERS_PLACED_V1.type_name(), Some(key_fn), *ORDERS_PLACED_V1.settings());
    if args[0] == "produce" {
        let options = ProducerOptions { source: "//service-rust".to_owned(), ..ProducerOptions::default() };
        let producer = Producer::with_options(config_from_env()?, options)?;
        for index in 0..args[2].parse::<i64>()? {
            let order = OrderPlaced {
                order_id: format!("rust-{index}"),
                items: vec![LineItem { sku_id: index, quantity: 2, ..Default::default() }],
                ..Default::default()
            };
            producer.send(&topic, &order)?;
        }
        return Ok(producer.close()?);
    }
    let count: u64 = args[3].parse()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let consumer = Consumer::from_env(&args[2])?;
    let handler = |record: Record<OrderPlaced>| -> std::result::Result<(), String> {
        let source = record.source.clone().unwrap_or_default();
        let order = &record.message;
        println!(
            "{{\"order_id\": \"{}\", \"items\": {}, \"source\": \"{}\"}}",
            order.order_id,
            order.items.len(),
            source
        );
        Ok(())
    };
    let stats = consumer.run(&topic, handler, |stats| stats.records >= count || Instant::now() >= deadline)?;
    consumer.close()?;
    if stats.records < count {
        return Err(format!("timed out after {} of {count} records", stats.records).into());
    }
    Ok(())
}
"""


@pytest.fixture(scope="module")
def company_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry made the way a company makes one, with the CLI installed from its wheel."""
    env = user_env(installed_cli_venv(tmp_path_factory), generation_cache(tmp_path_factory))
    registry = tmp_path_factory.mktemp("company") / "registry"
    registry.mkdir()
    git(registry, "init", "--quiet", "--initial-branch=main")

    def contracts(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["contracts", *args], cwd=registry, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        assert result.returncode == 0, f"contracts {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    contracts("init", *NAMES)
    config = (registry / "contracts.toml").read_text()
    assert "runtime_replace" not in config and "runtime_path" not in config and "runtime_requirement" not in config
    for domain in ("alerts", "inventory", "orders", "shared"):
        shutil.copytree(FIXTURE / "proto" / domain, registry / "proto" / domain)
    contracts("gen")
    contracts("gen", "--check")
    return registry


def run_program(args: list[str], env: dict[str, str], cwd: Path | None = None) -> list[dict[str, object]]:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1) for n in names])
    for future in futures.values():
        future.result(timeout=30)


@pytest.mark.slow
@pytest.mark.kafka
def test_three_services_outside_the_registry_build_and_read_each_other(
    company_registry: Path, kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry = company_registry
    generated = registry / "generated"
    services = tmp_path / "services"
    # The service environments see no CLI, no checkout and no venv of ours: only the public registries.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "KAFKA_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap

    # Python: a fresh venv, `pip install <registry>/generated/python`.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    installed = subprocess.run([*pip, str(generated / "python")], env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    (services / "python").mkdir(parents=True)
    (services / "python" / "service.py").write_text(PYTHON_SERVICE, encoding="utf-8")

    # Go: a module with a replace to the registry checkout; Rust: a path dependency.
    (services / "go").mkdir()
    (services / "go" / "go.mod").write_text(GO_MOD.format(generated=generated / "go"), encoding="utf-8")
    (services / "go" / "main.go").write_text(GO_SERVICE, encoding="utf-8")
    tidy = subprocess.run(["go", "mod", "tidy"], cwd=services / "go", env=env, capture_output=True, text=True)
    assert tidy.returncode == 0, tidy.stderr
    (services / "rust" / "src").mkdir(parents=True)
    (services / "rust" / "Cargo.toml").write_text(CARGO_TOML.format(generated=generated / "rust"), encoding="utf-8")
    (services / "rust" / "src" / "main.rs").write_text(RUST_SERVICE, encoding="utf-8")
    binaries = build_go_and_rust(services, tmp_path, "service-go", "service", "the adoption services")
    vet = subprocess.run(["go", "vet", "./..."], cwd=services / "go", env=env, capture_output=True, text=True)
    assert vet.returncode == 0, vet.stderr

    python = [str(venv / "bin" / "python"), str(services / "python" / "service.py")]
    go, rust = [str(binaries["go"])], [str(binaries["rust"])]
    suffix = uuid.uuid4().hex[:8]
    # writer -> reader: each language reads what another wrote.
    pairs = [("python", python, "go", go), ("go", go, "rust", rust), ("rust", rust, "python", python)]
    topics = {writer: f"{ORDERS}.adoption-{writer}-{suffix}" for writer, *_ in pairs}
    create_topics(kafka_bootstrap, [name for topic in topics.values() for name in (topic, topic + ".dlq")])
    for writer, writer_command, reader, reader_command in pairs:
        topic = topics[writer]
        run_program([*writer_command, "produce", topic, str(RECORDS)], env)
        lines = run_program([*reader_command, "consume", topic, f"adoption-{reader}-{suffix}", str(RECORDS)], env)
        assert sorted(str(line["order_id"]) for line in lines) == sorted(f"{writer}-{i}" for i in range(RECORDS)), (
            f"{reader} read {lines} from {writer}"
        )
        assert {line["source"] for line in lines} == {f"//service-{writer}"}
        assert {line["items"] for line in lines} == {1}
