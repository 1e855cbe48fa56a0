"""Service logs of integration jobs (``logs/screen-n-*.txt``), journald-style lines (pure).

Each line carries the volatile tokens real oslo.log lines do: a timestamp, the node name,
a pid, a request id, an instance uuid, a method and source line. A race bug whose query
tags a service log plants its line in that log, at a random position.
"""

from __future__ import annotations

import random
from datetime import timedelta

from gatewatch.demo.failures import new_uuid, render_bug_line, req_id
from gatewatch.demo.plan import BuildPlan

SERVICE_LOGS = {
    "screen-n-cpu.txt": ("nimbus-compute", "nimbus.compute.manager"),
    "screen-n-sch.txt": ("nimbus-scheduler", "nimbus.scheduler.manager"),
    "screen-n-api.txt": ("nimbus-api", "nimbus.api.openstack.requestlog"),
}
_MESSAGES = {
    "screen-n-cpu.txt": (
        "DEBUG {mod} [{req} {user}] [instance: {inst}] Took {f:.2f} seconds to spawn the instance on the "
        "hypervisor.",
        "INFO {mod} [{req} {user}] [instance: {inst}] Took {f:.2f} seconds to build instance.",
        'DEBUG oslo_concurrency.lockutils [{req} {user}] Lock "compute_resources" acquired by '
        '"nimbus.compute.resource_tracker.ResourceTracker.instance_claim" :: waited 0.000s',
        "INFO {mod} [{req} {user}] [instance: {inst}] Terminating instance",
        "DEBUG nimbus.virt.libvirt.driver [{req} {user}] [instance: {inst}] Instance destroyed successfully.",
        "WARNING nimbus.virt.libvirt.driver [None {req} None None] Error from libvirt while getting "
        "description "
        "of instance-{n:08x}: [Error Code 42] Domain not found: no domain with matching uuid '{inst}'",
    ),
    "screen-n-sch.txt": (
        "DEBUG nimbus.scheduler.host_manager [{req} {user}] Update host state from compute node: "
        "ComputeNode(host='np{n}', vcpus=8, memory_mb=7957) {{(pid={pid})}}",
        "DEBUG nimbus.scheduler.filter_scheduler [{req} {user}] Selected host: (np{n}, np{n}) ram: {n} MB",
        "INFO nimbus.scheduler.manager [{req} {user}] Got no allocation candidates from the Placement API. "
        "This could be due to insufficient resources or a temporary occurrence as compute nodes start up.",
    ),
    "screen-n-api.txt": (
        'INFO {mod} [{req} {user}] 10.0.{a}.{b} "GET /compute/v2.1/servers/{inst}" status: 200 len: {n} '
        "microversion: 2.{a} time: {f:.6f}",
        'INFO {mod} [{req} {user}] 10.0.{a}.{b} "POST /compute/v2.1/servers" status: 202 len: {n} '
        "microversion: 2.{a} time: {f:.6f}",
        'INFO {mod} [{req} {user}] 10.0.{a}.{b} "DELETE /compute/v2.1/servers/{inst}" status: 204 len: 0 '
        "microversion: 2.{a} time: {f:.6f}",
    ),
}


def _line(rng: random.Random, template: str, module: str, pid: int) -> str:
    user = f"tempest-ServersTestJSON-{rng.randint(10**8, 10**9)} tempest-ServersTestJSON-project-member"
    return template.format(
        mod=module,
        req=req_id(rng),
        user=user,
        inst=new_uuid(rng),
        f=rng.uniform(0.01, 40),
        n=rng.randint(1000, 10**9),
        pid=pid,
        a=rng.randint(0, 99),
        b=rng.randint(2, 254),
    )


def render_service_log(plan: BuildPlan, rng: random.Random, name: str) -> str:
    """One service log of an integration build, with the plan's bug line when it belongs here."""
    unit, module = SERVICE_LOGS[name]
    pid = rng.randint(20000, 90000)
    host = f"np{plan.seed % 10**10:010d}"
    count = rng.randint(60, 120)
    planted = -1
    if plan.bug is not None and plan.bug.log_name == name:
        planted = rng.randrange(count // 2, count)
    when = plan.start + timedelta(minutes=25)
    step = (plan.end - when).total_seconds() / count
    lines = []
    for index in range(count):
        when += timedelta(seconds=rng.uniform(0.2, 1.8) * step)
        text = _line(rng, rng.choice(_MESSAGES[name]), module, pid)
        if index == planted and plan.bug is not None:
            text = render_bug_line(rng, plan.bug)
        lines.append(f"{when.strftime('%b %d %H:%M:%S.%f')} {host} {unit}[{pid}]: {text}")
    return "\n".join(lines) + "\n"
