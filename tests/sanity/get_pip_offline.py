"""Stand-in for pip's get-pip.py bootstrap script, used by ``tests/sanity.sh``.

ansible-test creates its sanity venvs without pip and downloads get-pip.py
from a host CI cannot reach. This script does the same job from what is on
the machine: ``ensurepip`` installs the pip bundled with Python, which then
installs the exact pip version ansible-test asked for from the package index.

ansible-test runs pip with ``PIP_CONFIG_FILE=/dev/null`` and a bare
environment, so the machine's CA bundle is named explicitly here; the pip it
installs (24.2+) uses the system trust store by itself afterwards.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

DROP = {"--no-setuptools", "--no-wheel"}
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")

ensurepip.bootstrap(upgrade=True, default_pip=True)
args = [a for a in sys.argv[1:] if a not in DROP]
cert = [["--cert", path] for path in CA_BUNDLES if os.path.exists(path)][:1]
command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *sum(cert, []), *args]
sys.exit(subprocess.call(command))
