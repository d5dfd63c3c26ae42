"""The moto server's lifecycle, and the zone and bucket a drive creates and reads back."""

from __future__ import annotations

import pytest

from .conftest import port_is_closed

pytest.importorskip("moto.server")

from dnsrace.checker.conformance.adapters import StorePlanner  # noqa: E402
from dnsrace.checker.conformance.services import (Observed, ServiceError, Services,  # noqa: E402
                                                  moto_endpoint)


def test_the_server_listens_on_loopback_and_stops_when_the_block_ends():
    with moto_endpoint() as url:
        assert url.startswith("http://127.0.0.1:")
        assert not port_is_closed(url)
    assert port_is_closed(url)


def test_the_server_stops_even_when_the_block_raises():
    with pytest.raises(RuntimeError), moto_endpoint() as url:
        raise RuntimeError("adapter blew up")
    assert port_is_closed(url)


def test_the_server_stops_on_ctrl_c():
    with pytest.raises(KeyboardInterrupt), moto_endpoint() as url:
        raise KeyboardInterrupt
    assert port_is_closed(url)


def test_a_zone_with_one_record_per_endpoint_and_an_empty_bucket(moto_url):
    svc = Services(moto_url, endpoints=4, keep=1, user_endpoint=False)
    target = svc.create()
    try:
        assert [r.split(".")[0] for r in target.records] == ["regional", "ipv6", "fips",
                                                             "endpoint-4"]
        assert svc.route53.meta.endpoint_url == moto_url == svc.s3.meta.endpoint_url
        assert svc.observe() == Observed((0, 0, 0, 0), ('"plan-0"',) * 4, frozenset())
        StorePlanner(svc.route53, svc.s3, target).publish(2)
        assert svc.observe().store == {2}
        svc.reset()
        assert svc.observe().store == frozenset()
    finally:
        svc.destroy()
    assert target.zone_id not in str(svc.route53.list_hosted_zones())


def test_an_endpoint_that_does_not_answer_is_one_line():
    with moto_endpoint() as url:
        pass  # a loopback port that nothing listens on any more
    svc = Services(url, endpoints=1, keep=1, user_endpoint=True)
    with pytest.raises(ServiceError, match=f"cannot reach the endpoint {url}"):
        svc.create()
