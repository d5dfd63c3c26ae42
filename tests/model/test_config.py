import pytest

from dnsrace.model import Config, ConfigError


def test_defaults_are_the_incident_configuration():
    assert Config() == Config(enactors=3, plans=4, endpoints=3, keep=1)
    assert Config().slug() == "n3-p4-e3-k1"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"enactors": 0}, "--enactors must be at least 1"),
    ({"plans": 0}, "--plans must be at least 1"),
    ({"endpoints": -2}, "--endpoints must be at least 1"),
    ({"keep": -1}, "--keep must be a whole number >= 0"),
    ({"enactors": 99}, "too large"),
    ({"plans": 1.5}, "whole number"),
    ({"enactors": True}, "whole number"),
])
def test_bad_sizes_are_refused_with_one_line(kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        Config(**kwargs)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)
