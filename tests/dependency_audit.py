"""The dependency audit of ``make test``: pip-audit over every installed dependency.

A known vulnerability fails the run. A dependency the vulnerability service could not answer
for is not taken as clean: the audit names how many it could not check and, when it could check
none at all (a machine whose package index does not serve per-release data), says so plainly and
does not fail the test run; ``make audit`` is the strict form that fails then too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PIP_AUDIT = Path(sys.executable).parent / "pip-audit"


def main() -> int:
    done = subprocess.run([str(PIP_AUDIT), "--skip-editable", "--progress-spinner", "off", "--format", "json"],
                          capture_output=True, text=True)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"dependency audit: pip-audit gave no report (exit {done.returncode}):\n{done.stderr}", file=sys.stderr)
        return 1
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    checked = len(dependencies) - len(skipped)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            print(f"VULNERABLE {dependency['name']} {dependency.get('version', '')}: {vuln.get('id')} "
                  f"(fixed in {', '.join(vuln.get('fix_versions', [])) or 'no release yet'})", file=sys.stderr)
    if vulnerable:
        return 1
    if checked == 0:
        print(f"dependency audit NOT DONE: the vulnerability service answered for none of the {len(dependencies)} "
              f"installed dependencies ({skipped[0]['skip_reason'] if skipped else 'nothing installed?'}). "
              "Run `make audit` where PyPI's per-release data is reachable.")
        return 0
    print(f"dependency audit: {checked} dependencies checked, no known vulnerabilities"
          + (f"; {len(skipped)} could not be checked: {', '.join(d['name'] for d in skipped)}" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
