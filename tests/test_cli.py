"""`felles serve` says at start-up where e-mail and SMS go."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import free_listener


def test_serve_says_where_e_mail_and_sms_go(tmp_path):
    with free_listener() as probe:
        port = probe.getsockname()[1]
    environment = {**os.environ, "FELLES_ENVIRONMENT": "development", "FELLES_DATA_DIR": str(tmp_path),
                   "FELLES_BASE_URL": f"http://localhost:{port}"}
    environment.pop("FELLES_DATABASE_URL", None)
    with subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port), "--no-job-worker"],
                          env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as server:
        try:
            assert server.stdout is not None
            banner = [server.stdout.readline().strip() for _ in range(2)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert banner == [f"E-mail: outbox at http://localhost:{port}/notifications/email-outbox",
                      f"SMS: outbox at http://localhost:{port}/notifications/sms-outbox"]
