#!/usr/bin/env bash
# Audit the locked dependencies (uv.lock, every group) for known vulnerabilities with pip-audit.
# Fails on a known vulnerability. When the advisory service cannot be reached (no network, a
# registry mirror without PyPI's JSON API), it warns and passes: an outage is not a finding.
#
# pip-audit exits 1 both for "vulnerabilities found" and for a fatal error (an unreachable
# service, a bad requirements file), and 0 when the service answered 404 for every package (all
# skipped), so its exit code alone cannot tell them apart; the JSON report it writes can.
# PIP_AUDIT overrides the command (to check this script's verdicts with a stand-in).
set -uo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/tp-audit.XXXXXX)
trap 'rm -rf "$work"' EXIT

uv export --frozen --format requirements-txt --no-hashes --no-emit-project --all-groups \
  >"$work/requirements.txt" || { echo "audit: uv export failed" >&2; exit 1; }

# --no-deps --disable-pip: the export is fully pinned, so nothing is resolved or installed.
${PIP_AUDIT:-uv run --frozen pip-audit} -r "$work/requirements.txt" --no-deps --disable-pip \
  --progress-spinner off --timeout 15 --format json --output "$work/report.json" \
  >"$work/stdout" 2>"$work/stderr"
status=$?

uv run --frozen python - "$status" "$work" <<'PY'
"""The verdict: 1 on a known vulnerability or an error that is not the network; else 0."""
import json
import re
import sys
from pathlib import Path

status, work = int(sys.argv[1]), Path(sys.argv[2])
stderr = (work / "stderr").read_text(errors="replace")
report = work / "report.json"
OFFLINE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|NameResolutionError|"
    r"Max retries exceeded|network may be blocking|Could not connect|Temporary failure"
)

if report.exists() and report.stat().st_size:
    deps = json.loads(report.read_text())["dependencies"]
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        print(f"audit: FAILED, known vulnerabilities in {len(vulnerable)} package(s)")
        sys.exit(1)
    audited = len(deps) - len(skipped)
    if skipped:
        print(
            f"audit: WARNING: {len(skipped)} of {len(deps)} packages could not be audited "
            f"(the advisory service did not answer for them, e.g. "
            f"{skipped[0]['skip_reason']!r}); {audited} audited, none vulnerable"
        )
    else:
        print(f"audit: {audited} packages audited, no known vulnerabilities")
    sys.exit(0)
if status != 0 and OFFLINE.search(stderr):
    last = [line for line in stderr.splitlines() if line.strip()][-1:]
    print(f"audit: WARNING: advisory service unreachable, nothing audited ({' '.join(last)[:300]})")
    sys.exit(0)
print(f"audit: FAILED, pip-audit exited {status} without a report:\n{stderr[-2000:]}")
sys.exit(1)
PY
