"""The fictional Nimbus cloud: projects, jobs, test catalogs and planted problems (pure constants).

Everything here is data. The catalogs of test ids are built from a FIXED seed, so the
planted test ids (flaky tests, the regressed test, race-bug tests) are the same whatever
seed a demo uses; the demo seed only drives the history (arrivals, outcomes, log text).
"""

from __future__ import annotations

import enum
import random
import uuid
from dataclasses import dataclass
from functools import cache

PROJECTS = ("nimbus-compute", "nimbus-network", "nimbus-storage", "nimbus-identity", "nimbus-client")
SERVICE_PROJECTS = PROJECTS[:4]
ZUUL_TENANT = "nimbus"


def zuul_project(name: str) -> str:
    """The project's canonical Zuul name as build records carry it (``nimbus/nimbus-compute``)."""
    return f"{ZUUL_TENANT}/{name}"


# Relative share of changes per project (compute is the busiest, like nova).
PROJECT_WEIGHTS = (0.32, 0.24, 0.18, 0.14, 0.12)
UNIT_TEST_COUNTS = {
    "nimbus-compute": 420,
    "nimbus-network": 340,
    "nimbus-storage": 290,
    "nimbus-identity": 240,
    "nimbus-client": 200,
}
TEMPEST_JOB = "nimbus-tempest-full"
SCENARIO_JOB = "nimbus-tempest-multinode-scenario"
GRENADE_JOB = "nimbus-grenade-nv"
RALLY_JOB = "nimbus-rally"


class Kind(enum.StrEnum):
    """What a job produces besides its console log."""

    UNIT = "unit"  # junit.xml, pytest-like
    LINT = "lint"  # junit.xml with a few lint checks
    PLAIN = "plain"  # console only (docs, release notes, publishing)
    TEMPEST = "tempest"  # testrepository.subunit + service logs
    RALLY = "rally"  # rally.json + service logs


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """One job: its name, what it produces, its usual duration and node label."""

    name: str
    kind: Kind
    duration_s: float
    node_label: str = "ubuntu-jammy"
    voting: bool = True
    playbook: str = "playbooks/tox/run.yaml"


def compute_check_jobs(project: str) -> tuple[JobSpec, ...]:
    """The jobs of the check pipeline for one project (gate runs the voting ones)."""
    short = project.removeprefix("nimbus-")
    unit_s = 420.0 + UNIT_TEST_COUNTS[project] * 0.9
    jobs = [
        JobSpec(name=f"{project}-tox-py311", kind=Kind.UNIT, duration_s=unit_s),
        JobSpec(name=f"{project}-tox-pep8", kind=Kind.LINT, duration_s=210.0),
        JobSpec(name=f"{project}-tox-cover", kind=Kind.PLAIN, duration_s=unit_s * 1.3),
        JobSpec(name=f"{project}-tox-docs", kind=Kind.PLAIN, duration_s=330.0),
        JobSpec(name=f"{project}-build-releasenotes", kind=Kind.PLAIN, duration_s=260.0),
        JobSpec(name="nimbus-requirements-check", kind=Kind.PLAIN, duration_s=95.0),
        JobSpec(name=f"{project}-tox-bandit", kind=Kind.PLAIN, duration_s=150.0),
    ]
    if project in SERVICE_PROJECTS:
        jobs.append(_TEMPEST)
    if short in ("compute", "network"):
        jobs.append(_SCENARIO)
    if short in ("compute", "network", "storage"):
        jobs.append(_GRENADE)
    return tuple(jobs)


_DEVSTACK = "playbooks/devstack-tempest.yaml"
_TEMPEST = JobSpec(name=TEMPEST_JOB, kind=Kind.TEMPEST, duration_s=3700.0, playbook=_DEVSTACK)
_SCENARIO = JobSpec(
    name=SCENARIO_JOB,
    kind=Kind.TEMPEST,
    duration_s=3100.0,
    node_label="ubuntu-jammy-2-node",
    playbook=_DEVSTACK,
)
_GRENADE = JobSpec(
    name=GRENADE_JOB, kind=Kind.TEMPEST, duration_s=4300.0, voting=False, playbook="playbooks/grenade.yaml"
)
RALLY = JobSpec(
    name=RALLY_JOB,
    kind=Kind.RALLY,
    duration_s=2500.0,
    node_label="ubuntu-jammy-8GB",
    playbook="playbooks/rally/run.yaml",
)
POST_JOBS = (
    JobSpec(name="publish-nimbus-docs", kind=Kind.PLAIN, duration_s=280.0, playbook="playbooks/publish.yaml"),
    JobSpec(
        name="publish-nimbus-tarball", kind=Kind.PLAIN, duration_s=200.0, playbook="playbooks/publish.yaml"
    ),
)
PERIODIC_JOBS = (
    JobSpec(name="nimbus-periodic-requirements-update", kind=Kind.PLAIN, duration_s=400.0),
    JobSpec(name="nimbus-periodic-translation-update", kind=Kind.PLAIN, duration_s=350.0),
)


# ---------------------------------------------------------------- planted problems


@dataclass(frozen=True, slots=True, kw_only=True)
class BugSpec:
    """A known race bug planted to match a real elastic-recheck query.

    ``line`` is the log line (a format string with ``{uuid}``, ``{req}``, ``{mac}``,
    ``{ip}`` placeholders) that contains every message phrase of the query;
    ``log_name`` is where it goes (``job-output.txt`` is the ``console`` tag).
    """

    bug: str
    query_file: str
    job_name: str
    rate: float
    log_name: str
    line: str
    test_id: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FlakySpec:
    """A flaky test: each attempt fails with probability ``rate``; ``retried`` reruns a failure once."""

    test_id: str
    job_name: str
    rate: float
    retried: bool


TEMPEST_TAGGED = (
    "tempest.api.compute.servers.test_device_tagging.TaggedAttachmentsTest."
    "test_tagged_attachment[id-3e41c782-2a89-4922-a9d2-9a188c4e7c7c]"
)
TEMPEST_ATTACH_IFACE = (
    "tempest.api.compute.servers.test_attach_interfaces.AttachInterfacesTestJSON."
    "test_create_list_show_delete_interfaces_by_network_port[id-73fe8f02-590d-4bf1-b184-e9ca81065051,network]"
)
SCENARIO_NETWORK_BASIC = (
    "tempest.scenario.test_network_basic_ops.TestNetworkBasicOps."
    "test_network_basic_ops[id-f323b3ba-82f8-4db7-8ea6-6a895869ec49,network,smoke]"
)
SCENARIO_SERVER_BASIC = (
    "tempest.scenario.test_server_basic_ops.TestServerBasicOps."
    "test_server_basic_ops[id-7fff3fb3-91d8-4fd0-bd7d-0204f1f180ba,network,smoke]"
)
GRENADE_BROKEN_TEST = (
    "tempest.scenario.test_minimum_basic.TestMinimumBasicScenario."
    "test_minimum_basic_scenario[id-bdbb5441-9204-419d-a225-b4fdbfb1a1a8,image,network,volume]"
)
COMPUTE_DB_TEST = "nimbus_compute.tests.unit.db.test_api.InstanceDBApiTestCase.test_instance_get_all_by_host"
REGRESSED_TEST = (
    "nimbus_compute.tests.unit.test_client_wrapper.ClientWrapperTestCase.test_list_servers_paginated"
)
REGRESSION_JOB = "nimbus-compute-tox-py311"

BUGS = (
    BugSpec(
        bug="1775947",
        query_file="1775947.yaml",
        job_name=TEMPEST_JOB,
        rate=0.03,
        log_name="job-output.txt",
        line="tempest.lib.exceptions.TimeoutException: Request timed out\n"
        "Details: Timeout while verifying metadata on server.",
        test_id=TEMPEST_TAGGED,
        message="Timeout while verifying metadata on server.",
    ),
    BugSpec(
        bug="1696125",
        query_file="1696125.yaml",
        job_name=TEMPEST_JOB,
        rate=0.02,
        log_name="screen-n-cpu.txt",
        line="ERROR nimbus.compute.manager [{req} tempest-AttachInterfacesTestJSON-{n} "
        "tempest-AttachInterfacesTestJSON-{n}-project] [instance: {uuid}] Detach interface failed, "
        "port_id={uuid2}, reason: Device detach failed for {mac}: Unable to detach from guest transient "
        "domain.: nimbus.exception.DeviceDetachFailed: Device detach failed for {mac}",
        test_id=TEMPEST_ATTACH_IFACE,
        message="tempest.lib.exceptions.TimeoutException: Request timed out\n"
        "Details: Port {uuid2} still attached to server {uuid} after 196 seconds",
    ),
    BugSpec(
        bug="1844929",
        query_file="1844929.yaml",
        job_name=SCENARIO_JOB,
        rate=0.04,
        log_name="screen-n-sch.txt",
        line="WARNING nimbus.context [{req} tempest-TestServerBasicOps-{n} "
        "tempest-TestServerBasicOps-{n}-project]"
        " Timed out waiting for response from cell {uuid2}",
        test_id=SCENARIO_SERVER_BASIC,
        message="tempest.exceptions.BuildErrorException: Server {uuid} failed to build and is in ERROR "
        "status\n"
        "Details: Fault: {{'code': 500, 'message': 'No valid host was found. '}}",
    ),
    BugSpec(
        bug="1823251",
        query_file="1823251.yaml",
        job_name="nimbus-compute-tox-py311",
        rate=0.02,
        log_name="job-output.txt",
        line="sqlalchemy.exc.InterfaceError: (pymysql.err.InterfaceError) (0, '')",
        test_id=COMPUTE_DB_TEST,
        message="sqlalchemy.exc.InterfaceError: (pymysql.err.InterfaceError) (0, '')",
    ),
)

SSH_TIMEOUT_RATE = 0.03
SSH_TIMEOUT_ID = "ssh-timeout-floating-ip"
GRENADE_BROKEN_ID = "grenade-broken"


class Infra(enum.StrEnum):
    """Planted infrastructure failures (the key used in truth.json)."""

    MIRROR_503 = "mirror-503"
    NODE_FAILURE = "node-failure"
    DISK_FULL = "disk-full"
    DNS = "dns-failure"


# Per-build probability of each infra failure (checked in this order).
INFRA_RATES = (
    (Infra.NODE_FAILURE, 0.004),
    (Infra.DNS, 0.003),
    (Infra.MIRROR_503, 0.006),
    (Infra.DISK_FULL, 0.002),
)
INFRA_PHRASES = {
    Infra.MIRROR_503: "503 Service Unavailable",
    Infra.NODE_FAILURE: "",
    Infra.DISK_FULL: "No space left on device",
    Infra.DNS: "Temporary failure in name resolution",
}


# ---------------------------------------------------------------- test catalogs

_VERBS = ("create", "list", "show", "update", "delete", "get", "rebuild", "resize", "attach", "detach")
_NOUNS = (
    "server",
    "image",
    "volume",
    "snapshot",
    "port",
    "network",
    "subnet",
    "router",
    "flavor",
    "keypair",
    "project",
    "user",
    "role",
    "quota",
    "backup",
    "aggregate",
    "service",
    "floating_ip",
    "security_group",
    "metadata",
)
_QUALS = (
    "",
    "_with_name",
    "_by_id",
    "_negative",
    "_invalid",
    "_admin",
    "_pagination",
    "_filters",
    "_details",
)
_TEMPEST_AREAS = (
    ("compute", ("servers", "images", "flavors", "keypairs", "admin", "volumes", "floating_ips")),
    ("network", ("test_ports", "test_networks", "test_routers", "test_security_groups", "admin")),
    ("volume", ("test_volumes_actions", "test_snapshots", "test_backups", "admin")),
    ("identity", ("v3", "admin")),
    ("image", ("v2",)),
    ("object_storage", ("test_container_services", "test_object_services")),
)


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.split("_") if part)


def _test_names(rng: random.Random, count: int) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add(f"test_{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}{rng.choice(_QUALS)}")
    return sorted(names)


@cache
def compute_tempest_ids(count: int = 1300) -> tuple[str, ...]:
    """~1,300 tempest-like ids, ``module.Class.test[id-<uuid>,tags]``, planted ids included."""
    rng = random.Random("nimbus-tempest-catalog")
    ids: list[str] = [TEMPEST_TAGGED, TEMPEST_ATTACH_IFACE]
    while len(ids) < count:
        service, groups = rng.choice(_TEMPEST_AREAS)
        group = rng.choice(groups)
        module = f"test_{rng.choice(_NOUNS)}s{rng.choice(('', '_negative', '_rbac', '_actions'))}"
        klass = f"{_camel(module.removeprefix('test_'))}Test{rng.choice(('JSON', 'V2', 'V3', ''))}"
        for name in _test_names(rng, rng.randint(3, 12)):
            attrs = f"id-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            if rng.random() < 0.12:
                attrs += ",smoke"
            ids.append(f"tempest.api.{service}.{group}.{module}.{klass}.{name}[{attrs}]")
    return tuple(dict.fromkeys(ids[:count]))


@cache
def compute_scenario_ids(count: int = 64) -> tuple[str, ...]:
    """Scenario tests of the multinode job (network basic ops and friends)."""
    rng = random.Random("nimbus-scenario-catalog")
    ids = [SCENARIO_NETWORK_BASIC, SCENARIO_SERVER_BASIC, GRENADE_BROKEN_TEST]
    modules = (
        "test_volume_boot_pattern",
        "test_shelve_instance",
        "test_security_groups_basic_ops",
        "test_snapshot_pattern",
        "test_stamp_pattern",
        "test_network_advanced_server_ops",
        "test_minimum_basic",
        "test_server_multinode",
        "test_encrypted_cinder_volumes",
    )
    while len(ids) < count:
        module = rng.choice(modules)
        klass = "Test" + _camel(module.removeprefix("test_"))
        name = _test_names(rng, 1)[0]
        attrs = f"id-{uuid.UUID(int=rng.getrandbits(128), version=4)},{rng.choice(('network', 'volume'))}"
        ids.append(f"tempest.scenario.{module}.{klass}.{name}[{attrs}]")
    return tuple(dict.fromkeys(ids))


@cache
def compute_unit_ids(project: str) -> tuple[str, ...]:
    """Unit test ids of one project (``package.module.Class.test``), planted ids included."""
    package = project.replace("-", "_")
    rng = random.Random(f"nimbus-unit-catalog-{project}")
    ids: dict[str, None] = {}
    if project == "nimbus-compute":
        ids = dict.fromkeys((COMPUTE_DB_TEST, REGRESSED_TEST))
    while len(ids) < UNIT_TEST_COUNTS[project]:
        area = rng.choice(("api", "db", "conductor", "scheduler", "objects", "cmd", "policies", "utils"))
        noun = rng.choice(_NOUNS)
        klass = f"{_camel(noun)}{_camel(area)}TestCase"
        for name in _test_names(rng, rng.randint(4, 14)):
            ids[f"{package}.tests.unit.{area}.test_{noun}.{klass}.{name}"] = None
    return tuple(ids)[: UNIT_TEST_COUNTS[project]]


def compute_lint_ids(project: str) -> tuple[str, ...]:
    package = project.replace("-", "_")
    checks = ("flake8", "hacking", "bashate", "doc8", "pylint-imports", "mypy", "isort", "yamllint")
    return tuple(f"{package}.lint.{check}" for check in checks)


@cache
def compute_flaky() -> tuple[FlakySpec, ...]:
    """The planted flaky tests: rates 0.5 %-20 %, unit and tempest, some retried in the run."""
    tempest = compute_tempest_ids()
    return (
        FlakySpec(test_id=tempest[101], job_name=TEMPEST_JOB, rate=0.005, retried=False),
        FlakySpec(test_id=tempest[150], job_name=TEMPEST_JOB, rate=0.02, retried=False),
        FlakySpec(test_id=tempest[202], job_name=TEMPEST_JOB, rate=0.05, retried=False),
        FlakySpec(test_id=tempest[233], job_name=TEMPEST_JOB, rate=0.10, retried=True),
        FlakySpec(
            test_id=compute_unit_ids("nimbus-compute")[57],
            job_name="nimbus-compute-tox-py311",
            rate=0.02,
            retried=False,
        ),
        FlakySpec(
            test_id=compute_unit_ids("nimbus-network")[33],
            job_name="nimbus-network-tox-py311",
            rate=0.05,
            retried=False,
        ),
        FlakySpec(
            test_id=compute_unit_ids("nimbus-storage")[71],
            job_name="nimbus-storage-tox-py311",
            rate=0.20,
            retried=True,
        ),
        FlakySpec(
            test_id=compute_unit_ids("nimbus-client")[12],
            job_name="nimbus-client-tox-py311",
            rate=0.10,
            retried=True,
        ),
    )


@cache
def compute_planted_ids() -> frozenset[str]:
    """Every test id a planted cause can fail (never in the always-skipped set)."""
    fixed = {
        TEMPEST_TAGGED,
        TEMPEST_ATTACH_IFACE,
        SCENARIO_NETWORK_BASIC,
        SCENARIO_SERVER_BASIC,
        GRENADE_BROKEN_TEST,
        COMPUTE_DB_TEST,
        REGRESSED_TEST,
    }
    return frozenset(fixed | {spec.test_id for spec in compute_flaky()})


RALLY_SCENARIOS = (
    # scenario, atomic actions with mean seconds, iterations
    ("NovaServers.boot_and_delete_server", (("nova.boot_server", 4.2), ("nova.delete_server", 1.9)), 10),
    ("Authenticate.keystone", (("authenticate.keystone", 0.42),), 20),
    (
        "NeutronNetworks.create_and_list_networks",
        (("neutron.create_network", 0.61), ("neutron.list_networks", 0.23)),
        10,
    ),
    (
        "CinderVolumes.create_and_delete_volume",
        (("cinder_v3.create_volume", 2.8), ("cinder_v3.delete_volume", 1.1)),
        6,
    ),
)
PERF_STEP_SCENARIO = "NovaServers.boot_and_delete_server"
PERF_STEP_PCT = 8.0
PERF_CV = 0.04
PERF_OUTLIER_RATE = 0.03
