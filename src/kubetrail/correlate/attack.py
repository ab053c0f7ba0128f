"""Names of the MITRE ATT&CK techniques kubetrail's rules and the sensors' tags point to, for
people reading an incident (ids stay the answer; names are a courtesy)."""

from __future__ import annotations

from typing import Final

TECHNIQUES: Final = {
    "T1029": "Scheduled Transfer",
    "T1041": "Exfiltration Over C2 Channel",
    "T1059": "Command and Scripting Interpreter",
    "T1059.004": "Unix Shell",
    "T1078": "Valid Accounts",
    "T1087": "Account Discovery",
    "T1098": "Account Manipulation",
    "T1098.006": "Additional Container Cluster Roles",
    "T1105": "Ingress Tool Transfer",
    "T1204": "User Execution",
    "T1496": "Resource Hijacking",
    "T1528": "Steal Application Access Token",
    "T1552.007": "Container API",
    "T1555": "Credentials from Password Stores",
    "T1565": "Data Manipulation",
    "T1567": "Exfiltration Over Web Service",
    "T1609": "Container Administration Command",
    "T1610": "Deploy Container",
    "T1611": "Escape to Host",
    "T1613": "Container and Resource Discovery",
}


def named(technique: str) -> str:
    """'T1611 Escape to Host'; an id kubetrail has no name for stays an id."""
    name = TECHNIQUES.get(technique)
    return f"{technique} {name}" if name else technique
