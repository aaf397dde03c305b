"""config.sample.ini documents every key the code knows, with the code's defaults."""

from __future__ import annotations

import configparser
from pathlib import Path

from iredapi_ldap import config as cfg

SAMPLE = Path(__file__).resolve().parents[2] / "config.sample.ini"


def test_sample_lists_every_option():
    """Every (section, key) of config.OPTIONS appears in config.sample.ini and vice versa."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SAMPLE)
    in_sample = {(s, k) for s in parser.sections() for k in parser[s]}
    assert in_sample == set(cfg.OPTIONS)


def test_sample_values_are_the_defaults():
    """Loading the sample gives the same values as the code defaults."""
    loaded = cfg.load_ini(SAMPLE)
    for name, value in loaded.items():
        assert value == cfg.DEFAULTS[name] or (value == "" and not cfg.DEFAULTS[name]), name


def test_every_option_has_a_comment():
    """Each key in the sample is preceded by a comment line explaining it."""
    lines = SAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith(("#", "[")) and "=" in line:
            assert lines[index - 1].startswith("#"), f"no comment above: {line}"
