"""tegrastats lines of every JetPack -> the right board total; garbage -> null, never an exception."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slmbench.errors import UserError
from slmbench.power.parsing import parse_line, parse_rails
from slmbench.power.rails import board_total_rails, read_board_model

FIXTURES = Path(__file__).parent / "fixtures" / "power"

JP4_NANO = ("RAM 1922/3956MB (lfb 114x4MB) SWAP 0/1978MB (cached 0MB) IRAM 0/252kB(lfb 252kB) "
            "CPU [12%@1479,3%@1479,off,off] EMC_FREQ 0%@1600 GR3D_FREQ 0%@76 APE 25 PLL@33.5C CPU@35C PMIC@100C "
            "GPU@34.5C AO@40.5C thermal@34.75C POM_5V_IN 2448/2210 POM_5V_GPU 0/0 POM_5V_CPU 367/367")
JP4_AGX_XAVIER = ("RAM 3064/31927MB (lfb 6632x4MB) SWAP 0/15963MB (cached 0MB) CPU [2%@1190,1%@1190,off,off,off,"
                  "off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@1377 APE 150 MTS fg 0% bg 0% AO@36C GPU@36.5C "
                  "Tdiode@39C PMIC@100C AUX@35.5C CPU@37.5C thermal@36.6C Tboard@36C GPU 0/0 CPU 311/311 "
                  "SOC 1243/1243 CV 0/0 VDDRQ 155/155 SYS5V 1169/1169")
JP5_XAVIER_NX = ("08-21-2023 14:05:11 RAM 2416/7765MB (lfb 6264x4MB) SWAP 0/3883MB (cached 0MB) CPU [1%@1190,"
                 "0%@1190,off,off,off,off] EMC_FREQ 0%@1600 GR3D_FREQ 0%@114 APE 150 AUX@33C CPU@35C thermal@34.5C "
                 "VDD_IN 3865mW/3865mW VDD_CPU_GPU_CV 532mW/532mW VDD_SOC 1216mW/1216mW")
JP5_AGX_ORIN = ("08-21-2023 14:05:11 RAM 2416/30536MB (lfb 6264x4MB) SWAP 0/15268MB (cached 0MB) CPU [1%@729,"
                "0%@729,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305,305] VIC_FREQ 729 APE 174 CV0@-256C CPU@45.5C "
                "SOC2@42.968C GPU@42.093C tj@45.5C VDD_GPU_SOC 2794mW/2800mW VDD_CPU_CV 399mW/399mW "
                "VIN_SYS_5V0 2520mW/2520mW NC 0mW/0mW VDDQ_VDD2_1V8AO 301mW/301mW")
JP6_ORIN_NANO = ("11-02-2024 10:20:30 RAM 2010/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) CPU [0%@729,0%@729,"
                 "0%@729,0%@729,off,off] GR3D_FREQ 0%@[624] cpu@47.906C soc2@46.375C soc0@46.218C gpu@47.343C "
                 "tj@47.906C soc1@46.968C VDD_IN 4556mW/4100mW VDD_CPU_GPU_CV -12mW/-10mW VDD_SOC 1410mW/1410mW")
JP7_THOR = ("09-01-2025 09:00:00 RAM 6112/125772MB (lfb 3x4MB) SWAP 0/0MB (cached 0MB) CPU [1%@972,0%@972] "
            "GR3D_FREQ 0%@[0,0,0] cpu@40.1C gpu@39.2C tj@40.1C VDD_GPU 8000mW/7000mW/9000mW "
            "VDD_CPU_SOC_MSS 5000mW/4000mW/6000mW VIN_SYS_5V0 3000mW/3000mW/3000mW VIN 31250mW/30000mW/35000mW")

FORMATS = [
    ("jp4 nano, no unit, running average differs", JP4_NANO, 2448),
    ("jp4 agx xavier: sum of its six rails", JP4_AGX_XAVIER, 311 + 1243 + 155 + 1169),
    ("jp5 xavier nx", JP5_XAVIER_NX, 3865),
    ("jp5 agx orin: three rails", JP5_AGX_ORIN, 2794 + 399 + 2520),
    ("jp6 orin nano: negative sub-rail, lowercase temps", JP6_ORIN_NANO, 4556),
    ("jp7 thor: cur/avg/max", JP7_THOR, 31250),
]


@pytest.mark.parametrize("label,line,expected", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_gives_the_instantaneous_board_total(label, line, expected):
    power, rails = parse_line(line)
    assert power == expected
    assert all(isinstance(v, int) for v in rails.values())


def test_negative_and_unknown_rails_are_kept_but_not_summed():
    _, rails = parse_line(JP6_ORIN_NANO)
    assert rails == {"VDD_IN": 4556, "VDD_CPU_GPU_CV": -12, "VDD_SOC": 1410}
    power, rails = parse_line("VDD_FOO 100mW/100mW VDD_IN 900mW/900mW")
    assert power == 900 and rails["VDD_FOO"] == 100


def test_fields_that_look_like_rails_are_not_rails():
    rails = parse_rails(JP4_NANO)
    assert set(rails) == {"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"}  # not RAM, SWAP, IRAM, CPU, APE
    assert "RAM" not in parse_rails(JP5_AGX_ORIN)


GARBAGE = [
    "",
    "   \r\n",
    "\x00\x07\xff\xfe binary",
    "RAM 2010/7620MB SWAP 0/3810MB",  # no power rails
    "VDD_IN",
    "VDD_IN 45",  # cut inside the first value
    "VDD_FOO 100mW/100mW",  # unknown rails only: no known total
    "11-02-2024 10:20:30 RAM 2010/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) CPU [0%@7",
    JP5_AGX_ORIN.split(" VIN_SYS_5V0")[0],  # AGX Orin line cut before its third total rail
    "VDD_IN -mW/4mW",
    "VDD_IN 12W/12W",  # a unit we do not know
    "é" * 5000,
]


@pytest.mark.parametrize("line", GARBAGE)
def test_garbage_gives_null_never_an_exception(line):
    assert parse_line(line)[0] is None
    assert parse_line(line.encode("utf-8", errors="surrogateescape"))[0] is None


@pytest.mark.parametrize("line", [None, 12, b"\xff\xfe\x00"])
def test_non_text_input_gives_null(line):
    assert parse_line(line) == (None, {})


def test_a_line_cut_after_the_first_value_still_has_it():
    assert parse_line("VDD_IN 4556mW/45")[0] == 4556
    assert parse_line("VDD_IN 4556mW/4556m")[0] == 4556
    assert parse_line(JP6_ORIN_NANO[:-10])[0] == 4556  # cut inside VDD_SOC: VDD_IN is whole


def test_rails_override_sums_exactly_those():
    assert parse_line(JP6_ORIN_NANO, rails=["VDD_SOC", "VDD_CPU_GPU_CV"])[0] == 1410 - 12
    assert parse_line(JP6_ORIN_NANO, rails=["VDD_GPU"])[0] is None


BOARDS = [
    ("NVIDIA Jetson Nano Developer Kit", ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"], ["POM_5V_IN"]),
    ("NVIDIA Jetson Xavier NX Developer Kit", ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"], ["VDD_IN"]),
    ("NVIDIA Jetson Orin Nano Developer Kit", ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"], ["VDD_IN"]),
    ("NVIDIA Jetson Orin NX Engineering Reference Developer Kit", ["VDD_IN", "VDD_SOC"], ["VDD_IN"]),
    ("Jetson-AGX", ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"], ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"]),
    ("NVIDIA Jetson AGX Orin Developer Kit", ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"],
     ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]),
    ("NVIDIA Jetson AGX Thor Developer Kit", ["VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0", "VIN"], ["VIN"]),
]


@pytest.mark.parametrize("model,present,expected", BOARDS, ids=[b[0] for b in BOARDS])
def test_board_model_picks_the_total_rails(model, present, expected):
    assert board_total_rails(present, model) == expected
    assert board_total_rails(present, None) == expected  # the rails alone agree


def test_thor_model_beats_presence_order():
    # A Thor that also reports an AGX-Orin-looking trio must still use VIN.
    present = ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VIN"]
    assert board_total_rails(present, "NVIDIA Jetson AGX Thor Developer Kit") == ["VIN"]


def test_override_naming_an_absent_rail_is_a_user_error():
    with pytest.raises(UserError, match=r"power\.rails names VDD_GPU.*reports: VDD_IN"):
        board_total_rails(["VDD_IN"], None, ["VDD_GPU"])


def test_board_model_read_from_the_device_tree(tmp_path):
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_bytes(b"NVIDIA Jetson AGX Orin Developer Kit\0")
    assert read_board_model(str(tmp_path)) == "NVIDIA Jetson AGX Orin Developer Kit"
    assert read_board_model(str(tmp_path / "nowhere")) is None


def power_cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "slmbench.power", *args], input=stdin, capture_output=True,
                          timeout=60)


def test_parse_cli_reads_a_log_file_one_json_per_line():
    log = FIXTURES / "tegrastats_mixed.log"
    out = power_cli("parse", str(log))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.decode().splitlines()]
    expected = [json.loads(line) for line in (FIXTURES / "tegrastats_mixed.expected.jsonl").read_text().splitlines()]
    assert [r["power_mw"] for r in rows] == [e["power_mw"] for e in expected]
    assert len(rows) == len(log.read_bytes().splitlines())


def test_parse_cli_reads_stdin():
    out = power_cli("parse", "-", stdin=(JP4_NANO + "\n\x00garbage\n" + JP7_THOR + "\n").encode())
    rows = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [r["power_mw"] for r in rows] == [2448, None, 31250]
    assert rows[1]["rails"] == {} and rows[0]["rails"]["POM_5V_CPU"] == 367


def test_parse_cli_missing_file_is_one_line_error(tmp_path):
    out = power_cli("parse", str(tmp_path / "absent.log"))
    assert out.returncode == 2
    err = out.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "absent.log" in err and err.startswith("slmbench: error:")
