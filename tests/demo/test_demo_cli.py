"""`touchpoint demo` as a person runs it (a subprocess): a taken port is refused before any work,
`--no-serve` points at no server, the counts add up, next steps close the output, and a second
run shows the same keys."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import _free_port
from tests.test_cli import touchpoint


def test_a_taken_port_is_refused_in_one_line_before_ingesting(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        result = touchpoint("demo", "--customers", "20", "--port", str(port), data_dir=data)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: 127.0.0.1:{port} is already in use (another server?): choose another --port, "
        "or add --no-serve\n"
    )
    assert "Ingested" not in result.stdout
    assert not (data / "touchpoint.db").exists()  # nothing was created, let alone ingested


def test_no_serve_names_no_server_and_ends_with_next_steps(tmp_path: Path) -> None:
    first = touchpoint("demo", "--customers", "20", "--no-serve", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "curl" not in out and "http://" not in out  # no server runs, so no URL of one
    steps = out[out.index("Next steps") :]
    assert f"uv run touchpoint report funnel --data-dir {tmp_path}" in steps
    assert f"uv run touchpoint import FILE.csv --data-dir {tmp_path}" in steps
    assert f"uv run touchpoint serve --data-dir {tmp_path}" in steps
    second = touchpoint("demo", "--customers", "20", "--no-serve", data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "API keys for this demo (from an earlier run)" in second.stdout
    assert secrets(second.stdout) == secrets(out) and len(secrets(out)) == 3


def test_the_interactions_by_type_add_up_to_all_interactions(tmp_path: Path) -> None:
    result = touchpoint("demo", "--customers", "20", "--no-serve", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    ingested = re.search(r"Ingested ([\d,]+) interactions", result.stdout)
    assert ingested
    total = number(ingested.group(1))
    table = result.stdout[result.stdout.index("Interactions by type") :]
    table = table[: table.index("└")]
    rows = dict(re.findall(r"│ (\w[\w ]*?)\s+│\s+([\d,]+) │", table))
    assert "other types" in rows  # the demo has more types than the table lists by name
    counted = {name: number(n) for name, n in rows.items() if name != "total"}
    routed = re.search(r"ran\s+through the router: ([\d,]+) contacts", result.stdout)
    assert routed  # the switchboard's contacts are logged too: a callback is two interactions
    assert sum(counted.values()) == number(rows["total"]) >= total + number(routed.group(1))


def test_a_serving_demo_points_only_at_its_own_server(tmp_path: Path) -> None:
    port = _free_port()
    output = output_until_serving("--customers", "20", "--port", str(port), data_dir=tmp_path)
    ours = f"http://127.0.0.1:{port}"
    servers = re.findall(r"http://[\w.:-]+", output)  # scheme, host and port of every URL
    assert set(servers) == {ours} and len(servers) == 5  # curl hint, docs, app, serving line
    assert f"{ours}/v1/customers?limit=3" in output and f"{ours}/docs" in output
    assert f"{ours}/app/" in output


def output_until_serving(*args: str, data_dir: Path) -> str:
    """What `touchpoint demo` prints up to the line saying it serves; then it is stopped."""
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()", "demo", *args]
    env = {"COLUMNS": "200", "PATH": "", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as demo:
        try:
            assert demo.stdout is not None
            lines: list[str] = []
            while not lines or "Serving Touchpoint" not in lines[-1]:
                line = demo.stdout.readline()
                assert line, "demo exited early: " + "".join(lines)
                lines.append(line)
            return "".join(lines)
        finally:
            demo.terminate()
            try:
                demo.wait(timeout=30)
            except subprocess.TimeoutExpired:  # fail, rather than wait for ever on leaving
                demo.kill()
                raise


def secrets(output: str) -> list[str]:
    return re.findall(r"tp_(?:ingest|read|admin)_\S+", output)


def number(text: str) -> int:
    return int(text.replace(",", ""))
