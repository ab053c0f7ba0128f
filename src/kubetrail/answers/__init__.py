"""The questions kubetrail answers, one module each; the CLI, the HTTP API and the web page call
these and only render what they return."""
