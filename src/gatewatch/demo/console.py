"""Render a build's console log (``job-output.txt``) in Zuul's format (pure).

Lines are ``<timestamp> | <text>`` (Zuul's executor prefixes ansible output with the
host name). Volatile tokens (times, IPs, host names, request ids, durations) vary per
build, so later anomaly detection has to normalise them. Planted failure lines come from
``demo/failures.py`` and appear only in builds whose plan carries that cause.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from gatewatch.demo import failures
from gatewatch.demo.catalog import Infra, Kind
from gatewatch.demo.plan import BuildPlan

_PROVIDERS = ("rax-dfw", "rax-ord", "ovh-bhs1", "ovh-gra1", "vexxhost-ca-ymq-1", "inmotion-iad3")
_BASE = "opendev.org/opendev/base-jobs/playbooks/base"


class Console:
    """Accumulates console lines; :meth:`render` spreads their timestamps from start to end."""

    def __init__(self, plan: BuildPlan, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self._start = plan.start
        self._duration_s = (plan.end - plan.start).total_seconds()

    def add(self, text: str, *, host: bool = False) -> None:
        self.lines.append(f"controller | {text}" if host else text)

    def block(self, text: str, *, host: bool = True) -> None:
        for line in text.splitlines():
            self.add(line, host=host)

    def task(self, name: str, result: str = "ok") -> None:
        self.add("")
        self.add(f"TASK [{name}]")
        self.add(f"{result}", host=True)

    def render(self) -> str:
        gaps = [self.rng.random() + 0.05 for _ in self.lines]
        scale = self._duration_s / sum(gaps) if gaps else 0.0
        out, offset = [], 0.0
        for gap, line in zip(gaps, self.lines, strict=True):
            stamp = (self._start + timedelta(seconds=offset)).strftime("%Y-%m-%d %H:%M:%S.%f")
            out.append(f"{stamp} | {line}")
            offset += gap * scale
        return "\n".join(out) + "\n"


def _ip(rng: random.Random) -> str:
    first = rng.choice((23, 104, 149, 158, 162, 173))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"


def _header(con: Console, plan: BuildPlan) -> None:
    rng = con.rng
    for text in (
        "Job console starting",
        "Updating git repos",
        "Cloning repos into workspace",
        "Restoring repo states",
        "Merging changes",
        "Checking out repos",
        "Preparing playbooks",
        "Running Ansible setup",
    ):
        con.add(text)
    con.add(f"PRE-RUN START: [trusted : {_BASE}/pre.yaml@master]")
    con.add("")
    con.add("PLAY [all]")
    con.task("emit-job-header : Print job information")
    provider = rng.choice(_PROVIDERS)
    trigger = f"https://review.nimbus.example.org/{plan.change}" if plan.change else f"{plan.pipeline} timer"
    con.block(
        f"# Job Information\nAnsible Version: 2.16.6\nJob: {plan.job.name}\nPipeline: {plan.pipeline}\n"
        f"Executor: ze{rng.randint(1, 12):02d}.nimbus.example.org\nTriggered by: {trigger}\n"
        f"Event ID: {plan.event_id}\n# Node Information\nInventory Hostname: controller\n"
        f"Hostname: np{rng.randint(10**9, 10**10 - 1)}\nUsername: zuul\nDistro: Ubuntu 22.04\n"
        f"Provider: {provider}\nRegion: {provider.split('-')[-1].upper()}\nLabel: {plan.job.node_label}\n"
        f"Interface IP: {_ip(rng)}",
        host=False,
    )
    con.task("log-inventory : Ensure Zuul Ansible directory exists", "ok")
    con.task("start-zuul-console : Start zuul_console daemon.", "ok")
    con.task("validate-host : Collect information about zuul worker", "ok")
    con.task("prepare-workspace-git : Synchronize src repos to workspace directory.", "changed")
    con.add(f"Output suppressed because no_log was given; {rng.randint(3, 9)} repos synced", host=True)


def _mirror(con: Console, plan: BuildPlan) -> None:
    mirror = f"mirror.{con.rng.choice(('dfw', 'ord', 'bhs1', 'gra1'))}.nimbus.example.org"
    con.task("configure-mirrors : Install apt sources list", "changed")
    con.add(f"deb https://{mirror}/ubuntu jammy main universe", host=True)
    if plan.infra is Infra.DNS:
        for line in failures.render_dns(con.rng, mirror):
            con.add(line, host=True)
        return
    con.task("configure-mirrors : Set up pip mirror", "changed")
    con.add(f"index-url = https://{mirror}/pypi/simple", host=True)
    con.add(f"PRE-RUN END RESULT_NORMAL: [trusted : {_BASE}/pre.yaml@master]")


def _run(con: Console, plan: BuildPlan, body: list[str], *, failed: bool) -> None:
    playbook = f"opendev.org/nimbus/{plan.project}/{plan.job.playbook}@master"
    con.add(f"RUN START: [untrusted : {playbook}]")
    con.add("")
    con.add(f"PLAY [{plan.job.name}]")
    for line in body:
        con.add(line, host=True)
    con.add(f"RUN END RESULT_{'FAILED' if failed else 'NORMAL'}: [untrusted : {playbook}]")


def _post(con: Console, plan: BuildPlan, *, failed: bool) -> None:
    con.add(f"POST-RUN START: [trusted : {_BASE}/post-logs.yaml@master]")
    con.task("generate-zuul-manifest : Generate manifest", "changed")
    con.task("upload-logs-swift : Upload logs to swift", "changed")
    con.add(f"{plan.log_url}", host=True)
    con.add(f"POST-RUN END RESULT_NORMAL: [trusted : {_BASE}/post-logs.yaml@master]")
    con.add("")
    con.add("PLAY RECAP")
    ok, changed = con.rng.randint(25, 90), con.rng.randint(8, 40)
    con.add(
        f"controller                 : ok={ok}   changed={changed}   unreachable=0    "
        f"failed={1 if failed else 0}    skipped={con.rng.randint(2, 30)}    rescued=0    ignored=0"
    )


def render_console(plan: BuildPlan, body: list[str]) -> str:
    """The whole ``job-output.txt`` of a build, given the job-specific run ``body`` lines."""
    rng = random.Random(plan.seed ^ 0x5EED)
    con = Console(plan, rng)
    _header(con, plan)
    _mirror(con, plan)
    if plan.infra is Infra.DNS:
        con.add(f"PRE-RUN END RESULT_FAILED: [trusted : {_BASE}/pre.yaml@master]")
        _post(con, plan, failed=True)
        return con.render()
    failed = plan.result != "SUCCESS"
    _run(con, plan, body, failed=failed)
    _post(con, plan, failed=failed)
    return con.render()


def render_body(plan: BuildPlan, rng: random.Random, results_text: list[str]) -> list[str]:
    """The job-specific lines of the run playbook (tox, devstack+tempest, sphinx, rally)."""
    kind = plan.job.kind
    if plan.infra is Infra.MIRROR_503:
        return failures.render_mirror_503(rng, devstack=kind in (Kind.TEMPEST, Kind.RALLY))
    lines: list[str] = []
    if kind in (Kind.TEMPEST, Kind.RALLY):
        lines += failures.render_devstack(rng, plan)
    if plan.infra is Infra.DISK_FULL:
        return lines + failures.render_disk_full(rng, plan)
    if kind is Kind.PLAIN:
        lines += failures.render_plain(rng, plan)
    return lines + results_text


def stamp(when: datetime) -> str:
    """ISO 8601 UTC with a ``Z``, as build.json uses."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
