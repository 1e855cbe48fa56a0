"""Log text of planted failures and of ordinary job steps (pure).

Each planted cause has its own text: infra failures (mirror 503, disk full, DNS), the race
bugs (lines carrying the phrases of the real elastic-recheck query), the uncategorized SSH
timeout, the regression and flaky-test tracebacks. The phrases that identify a cause
(``INFRA_PHRASES``, the bugs' ``line``) are written only by the functions for that cause.
"""

from __future__ import annotations

import random
import uuid

from gatewatch.demo.catalog import (
    GRENADE_BROKEN_TEST,
    REGRESSED_TEST,
    SCENARIO_NETWORK_BASIC,
    BugSpec,
    Kind,
)
from gatewatch.demo.plan import BuildPlan


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def req_id(rng: random.Random) -> str:
    return f"req-{new_uuid(rng)}"


def mac(rng: random.Random) -> str:
    return "fa:16:3e:" + ":".join(f"{rng.getrandbits(8):02x}" for _ in range(3))


def floating_ip(rng: random.Random) -> str:
    return f"172.24.5.{rng.randint(2, 254)}"


def render_bug_line(rng: random.Random, bug: BugSpec) -> str:
    """The bug's planted line(s), volatile tokens filled in."""
    return bug.line.format(
        req=req_id(rng), uuid=new_uuid(rng), uuid2=new_uuid(rng), mac=mac(rng), n=rng.randint(10**8, 10**9)
    )


def render_dns(rng: random.Random, mirror: str) -> list[str]:
    return [
        "TASK [configure-mirrors : Update apt cache]",
        f"Err:1 https://{mirror}/ubuntu jammy InRelease",
        f"  Temporary failure resolving '{mirror}'",
        f'fatal: [controller]: FAILED! => {{"changed": false, "msg": "Failed to connect to {mirror} '
        f'port 443 after {rng.randint(3, 30)} ms: Temporary failure in name resolution"}}',
        f"ssh: Could not resolve hostname {mirror}: Temporary failure in name resolution",
    ]


def render_mirror_503(rng: random.Random, *, devstack: bool) -> list[str]:
    mirror = f"mirror.{rng.choice(('dfw', 'ord', 'bhs1', 'gra1'))}.nimbus.example.org"
    ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
    if devstack:
        return [
            "+ functions-common:apt_get_update:1143 :   sudo apt-get update",
            f"Hit:1 https://{mirror}/ubuntu jammy InRelease",
            f"Err:2 https://{mirror}/ubuntu jammy-updates InRelease",
            f"  503  Service Unavailable [IP: {ip} 443]",
            f"E: Failed to fetch https://{mirror}/ubuntu/dists/jammy-updates/InRelease  "
            f"503  Service Unavailable [IP: {ip} 443]",
            "E: Some index files failed to download. They have been ignored, or old ones used instead.",
            f"+ functions-common:die:{rng.randint(200, 260)} :   exit 1",
        ]
    package = rng.choice(("oslo-config", "keystoneauth1", "requests", "sqlalchemy", "eventlet", "pbr"))
    return [
        "py311: install_deps> python -I -m pip install -c https://releases.nimbus.example.org/constraints/"
        "upper/master -r requirements.txt -r test-requirements.txt",
        f"WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after "
        f"connection broken by 'ResponseError('too many 503 error responses')': /pypi/simple/{package}/",
        f"ERROR: HTTP error 503 while getting https://{mirror}/pypi/simple/{package}/: "
        "503 Service Unavailable",
        f"py311: exit 1 ({rng.uniform(20, 90):.2f} seconds) /home/zuul/src> python -I -m pip install failed",
    ]


def render_disk_full(rng: random.Random, plan: BuildPlan) -> list[str]:
    path = f"/opt/stack/data/{rng.choice(('glance/images', 'nova/instances', 'cinder/volumes'))}"
    return [
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3.11/shutil.py", line 197, in copyfileobj',
        "    fdst_write(buf)",
        f"OSError: [Errno 28] No space left on device: '{path}/{new_uuid(rng)}'",
        f"tar: {plan.job.name}.tar: Cannot write: No space left on device",
        "tar: Error is not recoverable: exiting now",
    ]


def render_devstack(rng: random.Random, plan: BuildPlan) -> list[str]:
    lines = [f"+ ./stack.sh:main:{rng.randint(200, 260)} :   echo_summary 'Installing package prerequisites'"]
    for service in ("keystone", "glance", "nimbus-compute", "nimbus-network", "nimbus-storage", "placement"):
        lines.append(
            f"+ lib/{service}:start_{service.replace('-', '_')}:{rng.randint(400, 900)} :   "
            f"run_process {service}-api"
        )
        lines.append(f"{service} started in {rng.uniform(2, 25):.2f}s (pid {rng.randint(2000, 60000)})")
    lines.append(
        f"This is your host IP address: 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
    )
    lines.append(f"DevStack Component Timing (total time {rng.randint(900, 1500)}s)")
    lines.append(f"stack.sh completed in {rng.randint(900, 1500)} seconds.")
    if plan.job.kind is Kind.TEMPEST and plan.job.playbook.endswith("grenade.yaml"):
        lines += ["grenade.sh: Upgrading base to target", "grenade.sh: Running target smoke tests"]
    return lines


def render_plain(rng: random.Random, plan: BuildPlan) -> list[str]:
    if plan.pipeline in ("post", "periodic") and plan.job.kind is Kind.PLAIN and "publish" in plan.job.name:
        return [
            f"Uploading {rng.randint(40, 900)} files to https://docs.nimbus.example.org/{plan.project}/latest",
            f"Upload complete in {rng.uniform(5, 60):.1f}s",
        ]
    lines = [
        f"{plan.job.name}: commands[0]> sphinx-build -W -b html doc/source doc/build/html",
        "Running Sphinx v7.3.7",
        "loading intersphinx inventory from https://docs.python.org/3/objects.inv...",
    ]
    pages = rng.randint(8, 20)
    for i in range(pages):
        lines.append(
            f"reading sources... [{(i + 1) * 100 // pages:3d}%] "
            f"{rng.choice(('admin', 'user', 'contributor', 'install'))}/page{i}"
        )
    lines += [
        "build succeeded.",
        f"{plan.job.name}: OK ({rng.uniform(30, 200):.2f}=setup[{rng.uniform(5, 30):.2f}]"
        f"+cmd[{rng.uniform(20, 170):.2f}] seconds)",
        "  congratulations :)",
    ]
    return lines


def render_failure(rng: random.Random, plan: BuildPlan, test_id: str) -> tuple[str, str]:
    """(message, traceback) of a failed test attempt, following the plan's cause for that test."""
    bug = plan.bug
    if bug is not None and bug.test_id == test_id:
        full = bug.message.format(uuid=new_uuid(rng), uuid2=new_uuid(rng))
        details = render_bug_line(rng, bug) if bug.log_name == "job-output.txt" else full
        return full.splitlines()[-1], _traceback(test_id, details)
    if plan.ssh_timeout and test_id == SCENARIO_NETWORK_BASIC:
        return _ssh_timeout(rng)
    if test_id == REGRESSED_TEST and plan.regression:
        return "KeyError: 'next_marker'", _traceback(test_id, "KeyError: 'next_marker'", regressed=True)
    if test_id == GRENADE_BROKEN_TEST and plan.broken:
        text = (
            f"tempest.lib.exceptions.NotFound: Object not found\nDetails: {{'code': 404, 'message': "
            f"'Image {new_uuid(rng)} could not be found after upgrade.'}}"
        )
        return "Image could not be found after upgrade.", _traceback(test_id, text)
    return _flaky_failure(rng, test_id)


def _traceback(test_id: str, last: str, *, regressed: bool = False) -> str:
    module = test_id.split("[", maxsplit=1)[0].rsplit(".", 2)[0].replace(".", "/")
    name = test_id.split("[", maxsplit=1)[0].rsplit(".", 1)[-1]
    if module.startswith("tempest/"):
        path = f"/opt/stack/tempest/{module}.py"
    else:
        project = module.split("/", 1)[0].replace("_", "-")
        path = f"/home/zuul/src/opendev.org/nimbus/{project}/{module}.py"
    line_no = 40 + sum(map(ord, name)) % 400
    lines = ["Traceback (most recent call last):", f'  File "{path}", line {line_no}, in {name}']
    if regressed:
        lines += [
            "    servers = self.client.servers.list(limit=50, marker=marker)",
            '  File "/usr/local/lib/python3.11/site-packages/nimbusclient/v2/servers.py", line 318, in list',
            "    marker = body['next_marker']",
        ]
    else:
        lines += ["    self.wait_for_resource(resource_id)"]
    return "\n".join([*lines, *last.splitlines()])


def _ssh_timeout(rng: random.Random) -> tuple[str, str]:
    ip = floating_ip(rng)
    attempts = rng.randint(14, 20)
    text = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "/opt/stack/tempest/tempest/lib/common/ssh.py", line 131, in _get_ssh_connection',
            "    ssh.connect(self.host, port=self.port, username=self.username,",
            '  File "/usr/local/lib/python3.11/site-packages/paramiko/client.py", line 386, in connect',
            "    sock.connect(addr)",
            "TimeoutError: timed out",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            f"tempest.lib.exceptions.SSHTimeout: Connection to the {ip} via SSH timed out.",
            "User: cirros, Password: None",
            f"Failed to establish authenticated ssh connection to cirros@{ip} after {attempts} attempts",
        ]
    )
    return f"Connection to the {ip} via SSH timed out.", text


_FLAKY_ERRORS = (
    "AssertionError: {x:.3f} not less than or equal to 0.5",
    "tempest.lib.exceptions.TimeoutException: Request timed out\nDetails: Server {u} failed to reach ACTIVE "
    'status and task state "None" within the required time ({s} s). Current status: BUILD.',
    "AssertionError: Expected 'notify' to have been called once. Called {n} times.",
    "tempest.lib.exceptions.Conflict: Conflict with state of target resource\nDetails: {{'type': "
    "'PortInUse', 'message': 'Port {u} is still in use.'}}",
)


def _flaky_failure(rng: random.Random, test_id: str) -> tuple[str, str]:
    template = _FLAKY_ERRORS[sum(map(ord, test_id)) % len(_FLAKY_ERRORS)]
    text = template.format(
        x=rng.uniform(0.5, 0.9), u=new_uuid(rng), s=rng.choice((196, 300)), n=rng.randint(2, 3)
    )
    return text.splitlines()[-1], _traceback(test_id, text)
