"""The built-in infra fingerprints recognise infrastructure failures and leave product failures alone."""

from __future__ import annotations

import pytest

from gatewatch.analyse.triage.matcher import compile_fingerprints
from gatewatch.analyse.triage.verdicts import classify_build
from gatewatch.domain.builds import Build, BuildResult
from gatewatch.domain.triage import BuildFacts, VerdictKind
from gatewatch.ingest.sources.fingerprints import load_builtin_fingerprints

FPS = load_builtin_fingerprints()
MATCHER = compile_fingerprints(FPS)
FACTS = BuildFacts(build_uuid="b", build_name="tempest-full", build_status="FAILURE")


@pytest.mark.parametrize(
    ("file_name", "line", "expected"),
    [
        ("job-output.txt", 'fatal: [controller]: UNREACHABLE! => {"changed": false}', ["infra-node-lost"]),
        (
            "job-output.txt",
            "E: Failed to fetch http://mirror.dfw.rax.opendev.org/pool/a.deb  503  Service Unavailable",
            ["infra-mirror-5xx"],
        ),
        (
            "job-output.txt",
            "Could not fetch URL https://pypi.org/simple/pbr/: connection error",
            ["infra-package-index"],
        ),
        (
            "job-output.txt",
            "ssh: Could not resolve hostname github.com: Temporary failure in name resolution",
            ["infra-dns"],
        ),
        ("screen-n-cpu.txt", "OSError: [Errno 28] No space left on device", ["infra-disk-full"]),
        ("syslog.txt", "kernel: qemu-system-x86 invoked oom-killer: gfp_mask=0x6200ca", ["infra-oom-killer"]),
        (
            "job-output.txt",
            "PRE-RUN END RESULT_TIMED_OUT: [untrusted : pre.yaml@master]",
            ["infra-setup-timeout"],
        ),
        ("job-output.txt", "RUN END RESULT_TIMED_OUT: [untrusted : run.yaml@master]", []),
        ("screen-n-api.txt", "Temporary failure in name resolution", []),
        (
            "job-output.txt",
            "tempest.lib.exceptions.ServerFault: Got server fault 500 Internal Server Error",
            [],
        ),
        ("job-output.txt", "paramiko.ssh_exception: Connection reset by peer", []),
        # Ansible's PLAY RECAP of every build: "UNREACHABLE! =>" alone is the one token "unreachable"
        ("job-output.txt", "controller : ok=38 changed=32 unreachable=0 failed=1 skipped=7", []),
    ],
)
def test_builtin_infra_lines(file_name: str, line: str, expected: list[str]) -> None:
    found = MATCHER.scan_log(line.encode() + b"\n", file_name=file_name, build=FACTS)
    assert sorted({m.bug_id for m in found}) == expected


@pytest.mark.parametrize(
    ("result", "kind"),
    [
        (BuildResult.NODE_FAILURE, VerdictKind.INFRA),
        (BuildResult.RETRY_LIMIT, VerdictKind.INFRA),
        (BuildResult.POST_FAILURE, VerdictKind.INFRA),
        (BuildResult.FAILURE, VerdictKind.UNKNOWN),
        (BuildResult.TIMED_OUT, VerdictKind.UNKNOWN),
    ],
)
def test_result_rules_need_no_logs(result: BuildResult, kind: VerdictKind) -> None:
    build = Build(uuid="b", project="p", job_name="j", result=result, voting=False)
    assert classify_build(build, [], FPS).kind is kind
