import datetime
import os
import stat

import pytest

from ansible_collections.swarmctl.swarm.plugins.plugin_utils import swarmctl_pki as pki

NOW = datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def ca():
    key = pki.generate_key("ec")
    return key, pki.issue_ca(key, "test CA", 3650, now=NOW)


def leaf(ca, dns=("westos.org",), ips=("172.25.78.78",), days=365, now=NOW):
    ca_key, ca_cert = ca
    key = pki.generate_key("ec")
    return key, pki.issue_leaf(ca_key, ca_cert, key.public_key(), "westos.org", list(dns), list(ips), days, now=now)


def test_ca_is_a_ca(ca):
    key, cert = ca
    assert pki.is_ca(cert)
    assert pki.ca_reasons(cert, key, 90) == []


def test_fresh_leaf_needs_nothing(ca):
    key, cert = leaf(ca)
    assert pki.renewal_reasons(cert, key, ca[1], ["westos.org"], ["172.25.78.78"], 30, now=NOW) == []
    assert pki.subject_alt_names(cert) == (["westos.org"], ["172.25.78.78"])


def test_each_reason_to_reissue(ca):
    key, cert = leaf(ca)
    other_key = pki.generate_key("ec")
    other_ca = (other_key, pki.issue_ca(other_key, "test CA", 3650, now=NOW))  # same name, other key
    assert pki.renewal_reasons(None, key, ca[1], [], [], 30) == ["the certificate does not exist"]
    assert "does not match its private key" in pki.renewal_reasons(cert, other_key, ca[1], [], [], 30, now=NOW)[0]
    assert pki.renewal_reasons(cert, key, other_ca[1], [], [], 30, now=NOW) == ["the certificate was not signed by this CA"]
    missing = pki.renewal_reasons(cert, key, ca[1], ["westos.org", "registry.lan"], ["10.0.0.9"], 30, now=NOW)
    assert missing == ["the certificate lacks subjectAltName DNS:registry.lan, IP:10.0.0.9"]
    soon = pki.renewal_reasons(cert, key, ca[1], [], [], 30, now=NOW + datetime.timedelta(days=340))
    assert soon and "within the renewal window of 30 day(s)" in soon[0]
    gone = pki.renewal_reasons(cert, key, ca[1], [], [], 30, now=NOW + datetime.timedelta(days=400))
    assert gone and "expired" in gone[0]


def test_leaf_never_outlives_its_ca():
    key = pki.generate_key("ec")
    short_ca = pki.issue_ca(key, "short CA", 10, now=NOW)
    _, cert = leaf((key, short_ca), days=365)
    assert pki.not_after(cert) <= pki.not_after(short_ca)


def test_ensure_ca_and_certificate_are_idempotent(tmp_path):
    creds = tmp_path / "credentials"
    ca_args = dict(path=str(creds), common_name="swarmctl CA", organization=None, key_type="ec", key_size=0,
                   valid_days=3650, renew_before_days=90)
    first = pki.ensure_ca(ca_args)
    assert first["changed"] and "the CA key does not exist" in first["reasons"]
    assert stat.S_IMODE(os.stat(creds / "ca.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o700
    assert pki.ensure_ca(ca_args)["changed"] is False

    cert_args = dict(cert_path=str(creds / "r.crt"), key_path=str(creds / "r.key"), ca_path=str(creds),
                     common_name="westos.org", dns_names=["westos.org"], ip_addresses=["172.25.78.78"],
                     client_auth=False, key_type="ec", key_size=0, valid_days=365, renew_before_days=30)
    check = pki.ensure_certificate(cert_args, check_mode=True, diff=True)
    assert check["changed"] and not (creds / "r.crt").exists(), "check mode writes nothing"
    assert check["diff"]["after"]["dns_names"] == ["westos.org"]
    issued = pki.ensure_certificate(cert_args, diff=True)
    assert issued["changed"] and issued["reasons"] == ["the private key does not exist"]
    assert stat.S_IMODE(os.stat(creds / "r.key").st_mode) == 0o600
    assert pki.ensure_certificate(cert_args)["changed"] is False

    # A new name: re-issued, same key, and the result says why.
    serial = issued["certificate"]["serial"]
    more = pki.ensure_certificate({**cert_args, "dns_names": ["westos.org", "registry.lan"]}, diff=True)
    assert more["reasons"] == ["the certificate lacks subjectAltName DNS:registry.lan"]
    assert more["diff"]["before"]["serial"] == serial != more["certificate"]["serial"]
    # A wider renewal window than the lifetime forces renewal now.
    renewed = pki.ensure_certificate({**cert_args, "dns_names": ["westos.org", "registry.lan"], "renew_before_days": 400})
    assert renewed["changed"] and "renewal window of 400" in renewed["reasons"][0]


def test_certificate_info_explains_a_name_mismatch(tmp_path, ca):
    _, cert = leaf(ca, dns=("other.example",), ips=())
    path = tmp_path / "bad.crt"
    path.write_bytes(pki.cert_pem(cert))
    args = dict(path=str(path), dns_names=["westos.org"], ip_addresses=[], ca_cert=None, min_days_left=0,
                fail_on_problems=False)
    info = pki.certificate_info(args)
    assert len(info["problems"]) == 1
    assert "covers DNS:other.example" in info["problems"][0] and "as DNS:westos.org will refuse it" in info["problems"][0]
    with pytest.raises(pki.PkiError, match="westos.org"):
        pki.certificate_info({**args, "fail_on_problems": True})


def test_secret_is_made_once_and_kept(tmp_path):
    path = tmp_path / "c" / "pw"
    args = dict(path=str(path), length=24)
    assert pki.ensure_secret(args, check_mode=True)["changed"] and not path.exists()
    assert pki.ensure_secret(args)["changed"]
    value = path.read_text()
    assert len(value) == 24 and value.isalnum()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pki.ensure_secret(args)["changed"] is False and path.read_text() == value
