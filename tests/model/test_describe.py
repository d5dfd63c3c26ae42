from dnsrace.model import Config, DnsSystem, describe_step
from dnsrace.checker import replay

from .test_system import INCIDENT


def test_incident_steps_read_in_the_incident_terms():
    m = DnsSystem(Config())
    states, _ = replay(m, INCIDENT)
    text = [describe_step(m, b, a, n) for a, b, n in zip(INCIDENT, states, states[1:])]
    assert text[0] == "generates plan 1"
    assert text[5] == "writes plan 3 to endpoint regional (first write)"
    # the "<< stale overwrite" mark is the terminal table's, never part of the description
    assert text[6] == "writes plan 1 to endpoint regional, replacing plan 3"
    assert text[9] == "cleans up after plan 3: deletes plan 1 (older than 2)"
