"""DDL generated from the field catalog (used to write migrations and to check them)."""

from __future__ import annotations

from kubetrail.model import catalog


def events_table(name: str = "events") -> str:
    cols = ",\n".join(
        f'    "{f.name}" {f.sql}' + (f" USING COMPRESSION {f.compression}" if f.compression else "") for f in catalog()
    )
    return f"CREATE TABLE {name} (\n{cols}\n);\n"


if __name__ == "__main__":
    print(events_table(), end="")
