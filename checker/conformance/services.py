"""The real services a drive runs against: moto's server on loopback by default, or the
user's ``--endpoint-url``; the hosted zone and plan bucket of a run; reading them back.

boto3 never looks for credentials or a region: both are passed explicitly (dummy ones unless
the user points at their own endpoint and exports keys), and the instance metadata endpoint is
disabled, so nothing is sent to any address but the endpoint in use.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from dnsrace.model import endpoint_name

from .adapters import PLAN_PREFIX, Target, plan_of_key, plan_of_value, record_set

__all__ = ["ServiceError", "moto_endpoint", "aws_endpoint", "Services", "Observed", "REGION"]

REGION = "us-east-1"
DUMMY_KEY = "testing"


class ServiceError(RuntimeError):
    """The endpoint cannot be reached or refuses the set-up; one line for the user."""


def _require_aws():
    try:
        import boto3  # noqa: F401, PLC0415
        import botocore  # noqa: F401, PLC0415
    except ImportError:
        raise ServiceError("drive needs boto3 and moto: pip install 'dnsrace[aws]'") from None


@contextmanager
def moto_endpoint():
    """Starts moto's server on a free 127.0.0.1 port, yields its URL, and stops it on the way
    out, whatever ends the block (an exception, Ctrl-C, SIGTERM turned into one)."""
    _require_aws()
    try:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415
    except ImportError:
        raise ServiceError("drive starts moto's server, which is not installed: pip install "
                           "'dnsrace[aws]' (or pass --endpoint-url)") from None
    from .moto_route53 import install  # noqa: PLC0415

    install()  # Route 53's own change-batch rules (moto 5.2 checks DELETEs differently)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        sock = getattr(server, "_server", None)  # stop() leaves the socket listening
        if sock is not None:
            sock.server_close()


@contextmanager
def aws_endpoint(endpoint_url: str | None):
    """The user's endpoint as given, or a moto server of our own for the block's duration."""
    if endpoint_url:
        _require_aws()
        yield endpoint_url
    else:
        with moto_endpoint() as url:
            yield url


@dataclass(frozen=True)
class Observed:
    """What the services hold: per endpoint the plan its record names (None when the record
    is missing or names no plan) with the raw value, and the plans present in the bucket."""

    dns: tuple
    values: tuple
    store: frozenset


def _clients(endpoint_url: str, use_env_keys: bool):
    import boto3  # noqa: PLC0415
    from botocore.config import Config as BotoConfig  # noqa: PLC0415

    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"  # never probe 169.254.169.254
    key, secret, token = DUMMY_KEY, DUMMY_KEY, None
    if use_env_keys and os.environ.get("AWS_ACCESS_KEY_ID") and \
            os.environ.get("AWS_SECRET_ACCESS_KEY"):
        key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
        token = os.environ.get("AWS_SESSION_TOKEN")
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                    aws_session_token=token, region_name=REGION)
    conf = BotoConfig(connect_timeout=3, read_timeout=20, s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1, "mode": "standard"})
    return (session.client("route53", endpoint_url=endpoint_url, config=conf),
            session.client("s3", endpoint_url=endpoint_url, config=conf))


class Services:
    """One hosted zone with a TXT record per endpoint and one plan bucket, created on
    ``endpoint_url`` for a drive and removed by ``destroy``."""

    def __init__(self, endpoint_url: str, endpoints: int, keep: int, user_endpoint: bool):
        self.endpoint_url = endpoint_url
        self.route53, self.s3 = _clients(endpoint_url, use_env_keys=user_endpoint)
        tag = uuid.uuid4().hex[:12]  # several drives may share one endpoint (and moto's state)
        self.zone_name = f"dnsrace-{tag}.example.com."
        self.records = tuple(f"{endpoint_name(e)}.{self.zone_name}" for e in range(endpoints))
        self.bucket = f"dnsrace-plans-{tag}"
        self.keep = keep
        self.target = None

    def create(self) -> Target:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
        try:
            zone = self.route53.create_hosted_zone(
                Name=self.zone_name, CallerReference=self.zone_name)["HostedZone"]["Id"]
            self.target = Target(zone.split("/")[-1], self.records, self.bucket, self.keep)
            self.s3.create_bucket(Bucket=self.bucket)
            self.reset()
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise ServiceError(f"{self.endpoint_url} refused to set up the hosted zone and "
                               f"bucket: {err.get('Code', '?')}: {err.get('Message', exc)}") \
                from None
        except BotoCoreError as exc:
            raise ServiceError(f"cannot reach the endpoint {self.endpoint_url}: {exc}") from None
        return self.target

    def reset(self) -> None:
        """Every record back to the bootstrap value plan-0; the bucket emptied."""
        self.route53.change_resource_record_sets(
            HostedZoneId=self.target.zone_id, ChangeBatch={"Changes": [
                {"Action": "UPSERT", "ResourceRecordSet": record_set(name, 0)}
                for name in self.records]})
        keys = [o["Key"] for o in self._objects()]
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 1000]]})

    def _objects(self):
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                  Prefix=PLAN_PREFIX)
        return [o for page in pages for o in page.get("Contents", [])]

    def observe(self) -> Observed:
        """Reads the records back (list_resource_record_sets) and lists the plan objects."""
        pages = self.route53.get_paginator("list_resource_record_sets").paginate(
            HostedZoneId=self.target.zone_id)
        found = {}
        for page in pages:
            for rrset in page["ResourceRecordSets"]:
                if rrset["Type"] == "TXT":
                    found[rrset["Name"]] = [r["Value"] for r in rrset.get("ResourceRecords", [])]
        values = tuple(found.get(name) for name in self.records)
        dns = tuple(plan_of_value(v[0]) if v and len(v) == 1 else None for v in values)
        store = frozenset(p for p in (plan_of_key(o["Key"]) for o in self._objects())
                          if p is not None)
        return Observed(dns, tuple(" ".join(v) if v else "(no record)" for v in values), store)

    def destroy(self) -> None:
        """Best effort: removes the bucket and the zone this drive created."""
        if self.target is None:
            return
        try:
            keys = [o["Key"] for o in self._objects()]
            if keys:
                self.s3.delete_objects(Bucket=self.bucket,
                                       Delete={"Objects": [{"Key": k} for k in keys]})
            self.s3.delete_bucket(Bucket=self.bucket)
            sets = self.route53.list_resource_record_sets(
                HostedZoneId=self.target.zone_id)["ResourceRecordSets"]
            changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in sets
                       if r["Type"] not in ("NS", "SOA")]
            if changes:
                self.route53.change_resource_record_sets(
                    HostedZoneId=self.target.zone_id, ChangeBatch={"Changes": changes})
            self.route53.delete_hosted_zone(Id=self.target.zone_id)
        except Exception:  # noqa: BLE001 - cleanup must not hide the run's own outcome
            pass
