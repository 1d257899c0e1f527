"""The configuration file: validated as a whole, every problem with its line, nothing changed on
error; the CLI says so in the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import touchpoint
from touchpoint.contact_center.config import parse_toml
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center as service

BAD = """\
[center]
lease_s = 0

[queues.sales]
channels = ["phone", "fax"]
strategy = "bogus"
target = "eighty"

[agents.ana]
queues = ["sales"]
skills = { sales = 11 }
"""

CROSS = """\
[queues.sales]
channels = ["phone"]
calendar = "office"

[agents.ana]
queues = ["sales", "billing"]
capacity = { chat = 3 }

[calendars.office]
time_zone = "Mars/Olympus"
hours.weekdays = ["09:00-12:00"]

[[rules]]
name = "vip"
trait = "vip"

[[rules]]
name = "retention"
team = "retention"
"""


def test_every_shape_problem_is_listed_with_its_line() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_toml(BAD)
    head, *problems = str(caught.value).splitlines()
    assert head == "5 problems in the configuration; nothing was changed:"
    assert sorted(problems) == [
        "  line 11: agents.ana.skills.sales: Input should be less than or equal to 10",
        "  line 2: center.lease_s: Input should be greater than or equal to 1",
        "  line 5: queues.sales.channels: unknown channel 'fax'; allowed: phone, email, chat, "
        "social, sms, web, ad, in_person, mobile_app",
        "  line 6: queues.sales.strategy: unknown strategy 'bogus'; allowed: longest-idle-agent, "
        "least-occupied, fewest-calls, round-robin, linear, most-skilled, random, "
        "weighted-random",
        "  line 7: queues.sales.target: target 'eighty' is not PERCENT/SECONDS, e.g. 80/20",
    ]


def test_references_between_tables_are_checked_with_their_lines() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_toml(CROSS)
    head, *problems = str(caught.value).splitlines()
    assert head == "4 problems in the configuration; nothing was changed:"
    assert problems == [
        "  line 6: agents.ana.queues[1]: no queue named 'billing'",
        "  line 7: agents.ana.capacity: takes none of queue sales's channels (phone)",
        "  line 19: rules[1].team: no agent is in team 'retention'",
        "  line 10: calendars.office.time_zone: unknown time zone 'Mars/Olympus'; give an IANA "
        'name such as "Europe/Paris"',
    ]


def test_names_used_by_asterisk_and_freeswitch_are_taken() -> None:
    config = parse_toml(
        '[queues.q]\nchannels = ["phone"]\nstrategy = "rrmemory"\ntarget = "90/15"\n'
        '[queues.r]\nchannels = ["phone"]\nstrategy = "top-down"\n'
    )
    assert (config.queues["q"].strategy, config.queues["r"].strategy) == ("round-robin", "linear")
    assert config.targets["q"] == (0.9, 15.0)


def test_a_bad_configuration_changes_nothing(tp: Touchpoint) -> None:
    good = '[queues.q]\nchannels = ["phone"]\n[agents.ana]\nqueues = ["q"]\n'
    assert service.apply_config(tp, text=good, actor="test").version == 1
    with pytest.raises(ValidationError):
        service.apply_config(tp, text=BAD, actor="test")
    with pytest.raises(ValidationError, match="not valid TOML"):
        service.apply_config(tp, text="[queues.q\n", actor="test")
    shown = service.config_document(tp)
    assert shown["version"] == 1 and list(shown["agents"]) == ["ana"]


def test_the_cli_applies_a_file_or_lists_its_problems(tmp_path: Path) -> None:
    assert touchpoint("init", data_dir=tmp_path / "d").returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    refused = touchpoint("cc", "config", "apply", str(bad), data_dir=tmp_path / "d")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "line 6: queues.sales.strategy: unknown strategy 'bogus'" in refused.stderr
    good = tmp_path / "good.toml"
    good.write_text('[queues.q]\nchannels = ["phone"]\n[agents.ana]\nqueues = ["q"]\n')
    applied = touchpoint("cc", "config", "apply", str(good), data_dir=tmp_path / "d")
    assert applied.returncode == 0, applied.stderr
    assert "configuration 1 in force: 1 queues, 1 agents, 0 routing rules" in applied.stdout
    assert touchpoint("cc", "agent", "ana", "login", data_dir=tmp_path / "d").returncode == 0
    assert touchpoint("cc", "agent", "ana", "ready", data_dir=tmp_path / "d").returncode == 0
    live = touchpoint("cc", "live", data_dir=tmp_path / "d").stdout
    assert "1 ready" in live and "ana" in live
