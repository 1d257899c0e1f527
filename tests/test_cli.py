"""The `touchpoint` command line, run as a user runs it (a subprocess on a fresh data directory)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson

from tests.builders import interaction


def touchpoint(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-c",
        "from touchpoint.cli import main; main()",
        *args,
        "--data-dir",
        str(data_dir),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", "PATH": ""}
    )


def test_import_then_customer_show(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    rows = [
        interaction(id="1", anonymous_id="ck", at=0),
        interaction(
            id="2",
            anonymous_id="ck",
            email="ida@example.com",
            type="signup",
            traits={"name": "Ida Lane"},
            at=1,
        ),
        interaction(
            id="3", email="ida@example.com", type="purchase", revenue=12.5, currency="USD", at=2
        ),
        {"type": "nonsense"},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    imported = touchpoint("import", str(path), data_dir=tmp_path / "data")
    assert imported.returncode == 0, imported.stderr
    assert re.search(r"accepted\s*│\s*3\b", imported.stdout), imported.stdout
    assert re.search(r"rejected\s*│\s*1\b", imported.stdout)
    assert re.search(r"│\s*4\s*│\s*type: Input should be", imported.stdout)
    shown = touchpoint("customer", "show", "ida@example.com", data_dir=tmp_path / "data")
    assert shown.returncode == 0, shown.stderr
    assert (
        "Ida Lane" in shown.stdout and "anonymous_id" in shown.stdout and "purchase" in shown.stdout
    )


def test_printed_names_are_text_not_markup(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    odd = interaction(email="odd@example.com", traits={"name": "[red]Ann[/red] [b]"}, at=0)
    path.write_bytes(orjson.dumps(odd))
    assert touchpoint("import", str(path), data_dir=tmp_path).returncode == 0
    shown = touchpoint("customer", "show", "odd@example.com", data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "[red]Ann[/red] [b]" in shown.stdout


def test_the_cli_starts_without_the_heavy_libraries() -> None:
    """`touchpoint --help` and every group's registration load no DuckDB, Ibis, Arrow, Plotly,
    pandas, Faker, uvicorn or FastAPI: each command imports what it needs when it runs."""
    code = (
        "import sys\n"
        "from touchpoint.cli import app\n"
        "heavy = ('duckdb', 'ibis', 'pyarrow', 'plotly', 'pandas', 'faker', 'uvicorn', 'fastapi')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_user_mistakes_print_one_line_not_a_traceback(tmp_path: Path) -> None:
    missing = touchpoint("import", str(tmp_path / "nope.csv"), data_dir=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: no such file")
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "touchpoint.db").exists()  # a refused import creates nothing
    assert touchpoint("init", data_dir=tmp_path).returncode == 0
    unknown = touchpoint("customer", "show", "nobody@example.com", data_dir=tmp_path)
    assert unknown.returncode == 1 and "no customer known by" in unknown.stderr
    bad_scope = touchpoint("keys", "create", "--scope", "root", data_dir=tmp_path)
    assert bad_scope.returncode == 1 and "unknown scope 'root'" in bad_scope.stderr
    for customers in ("-1", "0"):
        demo = touchpoint("demo", "--customers", customers, "--no-serve", data_dir=tmp_path)
        assert demo.returncode == 1, demo.stderr
        assert demo.stderr == f"error: customers must be at least 1, not {customers}\n"
    moment = touchpoint("lifecycle", "summary", "--at", "1767225600", data_dir=tmp_path)
    assert moment.returncode == 1 and len(moment.stderr.splitlines()) == 1
    assert moment.stderr.startswith("error: --at: '1767225600' is a number, not a moment")


def test_keys_create_prints_a_key_that_the_api_accepts(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from touchpoint.api.app import create_app
    from touchpoint.runtime import open_touchpoint
    from touchpoint.settings import Settings

    assert touchpoint("init", data_dir=tmp_path).returncode == 0
    created = touchpoint("keys", "create", "--scope", "read", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    secret = next(word for word in created.stdout.split() if word.startswith("tp_read_"))
    with TestClient(create_app(open_touchpoint(Settings(data_dir=tmp_path)))) as client:
        response = client.get("/v1/customers", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


def test_every_command_has_help(tmp_path: Path) -> None:
    commands = (
        ["demo"],
        ["serve"],
        ["import"],
        ["customer", "show"],
        ["customer", "list"],
        ["keys", "create"],
        ["lifecycle", "summary"],
        ["lifecycle", "replay"],
        ["lifecycle", "tick"],
        ["report"],
        ["spend", "import"],
    )
    for command in commands:
        result = touchpoint(*command, "--help", data_dir=tmp_path)
        assert result.returncode == 0 and "--data-dir" in result.stdout, command


def test_demo_ingests_summarises_and_serves_the_api(tmp_path: Path) -> None:
    import time
    import urllib.request

    from tests.conftest import _free_port

    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from touchpoint.cli import main; main()",
        "demo",
        "--customers",
        "60",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
    ]
    env = {"COLUMNS": "200", "PATH": "", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        lines: list[str] = []
        assert server.stdout is not None
        while not any("Serving Touchpoint" in line for line in lines):
            line = server.stdout.readline()
            assert line, (
                "demo exited early: "
                + "".join(lines)
                + (server.stderr.read() if server.stderr else "")
            )
            lines.append(line)
        output = "".join(lines)
        assert re.search(r"Ingested [\d,]+ interactions .*0 rejected", output.replace("\n", " "))
        read_key = re.search(r"tp_read_\S+", output)
        assert read_key
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/customers?limit=1",
            headers={"Authorization": f"Bearer {read_key.group(0)}"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = orjson.loads(response.read())
                break
            except OSError:
                assert time.monotonic() < deadline, "API never answered"
                time.sleep(0.2)
        assert body["total"] > 50
    finally:
        server.terminate()
        server.wait(timeout=30)
        for stream in (server.stdout, server.stderr):
            if stream:
                stream.close()


def test_demo_twice_stores_nothing_twice(tmp_path: Path) -> None:
    first = touchpoint("demo", "--customers", "40", "--no-serve", data_dir=tmp_path)
    second = touchpoint("demo", "--customers", "40", "--no-serve", data_dir=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    new = re.search(r"([\d,]+) new, ([\d,]+) already stored", second.stdout)
    assert new and new.group(1) == "0" and int(new.group(2).replace(",", "")) > 1000
    funnel = re.search(r"Lifecycle funnel.*?reach\s*│\s*([\d,]+)", second.stdout, re.S)
    assert funnel and int(funnel.group(1).replace(",", "")) >= 40, second.stdout
    lifecycle_map = tmp_path / "lifecycle-map.html"
    assert lifecycle_map.as_uri() in second.stdout.replace("\n", "")
    assert '"type":"sankey"' in lifecycle_map.read_text()


def test_lifecycle_commands_summarise_replay_and_tick(tmp_path: Path) -> None:
    data = tmp_path / "data"
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"id": "a", "type": "page_view", "channel": "web", "occurred_at": "2026-01-01T00:00:00Z",'
        ' "customer": {"email": "a@example.com"}}\n'
        '{"id": "b", "type": "purchase", "channel": "web", "occurred_at": "2026-01-02T00:00:00Z",'
        ' "revenue": 10, "customer": {"email": "a@example.com"}}\n'
    )
    assert touchpoint("import", str(events), data_dir=data).returncode == 0
    summary = touchpoint("lifecycle", "summary", data_dir=data)
    assert summary.returncode == 0 and "conversion" in summary.stdout
    past = touchpoint("lifecycle", "summary", "--at", "2026-01-01T12:00", data_dir=data)
    assert "reach" in past.stdout and "100.0%" in past.stdout
    ticked = touchpoint("lifecycle", "tick", "--now", "2026-06-01", data_dir=data)
    assert ticked.returncode == 0 and "1 → at_risk" in ticked.stdout
    at_risk = touchpoint("customer", "list", "--stage", "at_risk", data_dir=data)
    assert at_risk.returncode == 0 and "1–1 of 1" in at_risk.stdout
    assert "a@example.com" in at_risk.stdout and "10.00" in at_risk.stdout
    assert (
        "No customers in stage conversion"
        in touchpoint("customer", "list", "--stage", "conversion", data_dir=data).stdout
    )
    unknown = touchpoint("customer", "list", "--stage", "lost", data_dir=data)
    assert unknown.returncode == 1 and "unknown stage 'lost'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    replayed = touchpoint("lifecycle", "replay", "--model", "hubspot", data_dir=data)
    assert replayed.returncode == 0 and "hubspot@1" in replayed.stdout
    assert "customer" in replayed.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "x"\nversion = 1\n')
    refused = touchpoint("lifecycle", "replay", "--model", str(bad), data_dir=data)
    assert refused.returncode == 1 and "bad.toml" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "customer" in touchpoint("lifecycle", "summary", data_dir=data).stdout
