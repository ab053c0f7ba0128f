"""The container's HEALTHCHECK: exit 0 when `kubetrail serve` answers /healthz, 1 otherwise.

The image has no curl, so this uses the standard library only. It asks the server on loopback,
where the certificate's names (the Service's) cannot match, so over HTTPS it does not verify the
certificate: it checks that the process answers, not who it is. Set KUBETRAIL_HEALTHCHECK_URL
when serve listens elsewhere or without TLS (e.g. http://127.0.0.1:8443/healthz).
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "https://127.0.0.1:8443/healthz"


def main() -> int:
    url = os.environ.get("KUBETRAIL_HEALTHCHECK_URL", DEFAULT_URL)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=4, context=context) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
