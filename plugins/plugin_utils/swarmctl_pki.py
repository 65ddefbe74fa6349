# Certificate helpers shared by the swarmctl_ca, swarmctl_certificate and swarmctl_certificate_info
# modules. They run on the control machine, with the `cryptography` package.

from __future__ import annotations

import datetime
import ipaddress
import os
import tempfile

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError as exc:  # reported by the modules with a hint
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = exc

KEY_TYPES = ("ec", "rsa")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def generate_key(key_type: str = "ec", size: int = 0):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size or 4096)
    return ec.generate_private_key(ec.SECP384R1() if size == 384 else ec.SECP256R1())


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(path: str):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def load_cert(path: str):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def cert_pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_file(path: str, data: bytes, mode: int) -> None:
    """Write atomically with the final mode from the start (a key is never readable by others)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def same_public_key(cert, key) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def signed_by(cert, ca_cert) -> bool:
    if cert.issuer != ca_cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
        return True
    except Exception:  # InvalidSignature, ValueError, TypeError: all mean "not this CA"
        return False


def not_after(cert) -> datetime.datetime:
    return cert.not_valid_after_utc


def subject_alt_names(cert) -> tuple[list[str], list[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = [str(n) for n in ext.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return dns, ips


def is_ca(cert) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def common_name(cert) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def describe(cert) -> dict:
    """What diff mode and results show: never key material."""
    if cert is None:
        return {}
    dns, ips = subject_alt_names(cert)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "dns_names": dns,
        "ip_addresses": ips,
        "not_after": not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "serial": format(cert.serial_number, "x"),
        "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def predict(cn: str, dns_names, ip_addresses, days: int, issuer: str | None = None, now=None) -> dict:
    """What a certificate issued now would show in diff mode (check mode cannot know its serial)."""
    now = now or utcnow()
    subject = _name(cn, None).rfc4514_string()
    return {
        "subject": subject,
        "issuer": issuer or subject,
        "dns_names": list(dns_names),
        "ip_addresses": normalize_ips(ip_addresses),
        "not_after": (now + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "serial": "(new)",
        "fingerprint_sha256": "(new)",
    }


def fix_key_mode(path: str, check_mode: bool) -> bool:
    """Make a private key file 0600; True when it was (or would be) changed."""
    if not os.path.exists(path) or not os.stat(path).st_mode & 0o077:
        return False
    if not check_mode:
        os.chmod(path, 0o600)
    return True


def normalize_ips(values) -> list[str]:
    return [str(ipaddress.ip_address(str(v))) for v in values or []]


def renewal_reasons(cert, key, ca_cert, dns_names, ip_addresses, renew_before_days, now=None) -> list[str]:
    """Why a leaf certificate must be (re)issued; empty when it is fine as it is."""
    if cert is None:
        return ["the certificate does not exist"]
    reasons = []
    if key is not None and not same_public_key(cert, key):
        reasons.append("the certificate does not match its private key")
    if ca_cert is not None and not signed_by(cert, ca_cert):
        reasons.append("the certificate was not signed by this CA")
    have_dns, have_ips = subject_alt_names(cert)
    missing = [f"DNS:{n}" for n in dns_names if n.lower() not in {h.lower() for h in have_dns}]
    missing += [f"IP:{ip}" for ip in normalize_ips(ip_addresses) if ip not in have_ips]
    if missing:
        reasons.append("the certificate lacks subjectAltName " + ", ".join(missing))
    reasons.extend(expiry_reasons(cert, renew_before_days, now))
    return reasons


def expiry_reasons(cert, renew_before_days, now=None) -> list[str]:
    now = now or utcnow()
    left = not_after(cert) - now
    if left.total_seconds() <= 0:
        return [f"the certificate expired on {not_after(cert):%Y-%m-%d}"]
    if left <= datetime.timedelta(days=renew_before_days):
        return [
            f"the certificate expires in {left.days} day(s), within the renewal window of {renew_before_days} day(s)"
        ]
    return []


def _name(cn: str, organization: str | None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def issue_ca(key, cn: str, days: int, organization: str | None = None, now=None):
    now = now or utcnow()
    name = _name(cn, organization)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def issue_leaf(ca_key, ca_cert, public_key, cn: str, dns_names, ip_addresses, days: int, client_auth=False,
               now=None):
    now = now or utcnow()
    # A leaf never outlives its CA: clients would reject it from that day on.
    end = min(now + datetime.timedelta(days=days), not_after(ca_cert))
    sans = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(str(i))) for i in ip_addresses]
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, None))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


# -- operations, run in-process on the control machine by the action plugins of the same names ----------

class PkiError(Exception):
    """A failure whose message says what is wrong and what to do."""


CA_SPEC = dict(
    path=dict(type="path", required=True),
    common_name=dict(type="str", default="swarmctl CA"),
    organization=dict(type="str"),
    key_type=dict(type="str", choices=list(KEY_TYPES), default="ec"),
    key_size=dict(type="int", default=0),
    valid_days=dict(type="int", default=3650),
    renew_before_days=dict(type="int", default=90),
)


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise PkiError(f"the Python package 'cryptography' is missing on the control machine ({CRYPTOGRAPHY_ERROR}); "
                       "install it where Ansible runs (pip install cryptography)")


def _diff(before, after, path, diff):
    return {"diff": {"before": before, "after": after, "before_header": path, "after_header": path}} if diff else {}


def ca_reasons(cert, key, renew_before_days):
    if cert is None:
        return ["the CA certificate does not exist"]
    reasons = []
    if key is not None and not same_public_key(cert, key):
        reasons.append("the CA certificate does not match the CA key")
    if not is_ca(cert):
        reasons.append("the certificate is not a CA certificate")
    reasons.extend(expiry_reasons(cert, renew_before_days))
    return reasons


def ensure_ca(p, check_mode=False, diff=False) -> dict:
    _require_cryptography()
    key_path = os.path.join(p["path"], "ca.key")
    cert_path = os.path.join(p["path"], "ca.crt")
    try:
        key = load_key(key_path) if os.path.exists(key_path) else None
        cert = load_cert(cert_path) if os.path.exists(cert_path) else None
    except ValueError as exc:
        raise PkiError(f"cannot read the CA in {p['path']}: {exc}. Move the broken files away; a new CA will be "
                       "made (and every certificate re-issued).") from None
    if key is None:
        reasons = ["the CA key does not exist"]
        if cert is not None:
            reasons.append("a new CA key means a new CA: certificates it signed will be re-issued")
    else:
        reasons = ca_reasons(cert, key, p["renew_before_days"])

    before = after = describe(cert)
    if reasons:
        if check_mode:
            after = predict(p["common_name"], [], [], p["valid_days"])
        else:
            if key is None:
                key = generate_key(p["key_type"], p["key_size"])
                write_file(key_path, key_pem(key), 0o600)
            cert = issue_ca(key, p["common_name"], p["valid_days"], p["organization"])
            write_file(cert_path, cert_pem(cert), 0o644)
            after = describe(cert)
    if fix_key_mode(key_path, check_mode):
        reasons.append("the CA key was readable by others: mode set to 0600")
    if os.path.isdir(p["path"]) and os.stat(p["path"]).st_mode & 0o077:
        reasons.append(f"{p['path']} was open to others: mode set to 0700")
        if not check_mode:
            os.chmod(p["path"], 0o700)
    return dict(changed=bool(reasons), reasons=reasons, certificate=after, cert_path=cert_path, key_path=key_path,
                **_diff(before, after, cert_path, diff))


CERTIFICATE_SPEC = dict(
    cert_path=dict(type="path", required=True),
    key_path=dict(type="path", required=True),
    ca_path=dict(type="path", required=True),
    common_name=dict(type="str", required=True),
    dns_names=dict(type="list", elements="str", default=[]),
    ip_addresses=dict(type="list", elements="str", default=[]),
    client_auth=dict(type="bool", default=False),
    key_type=dict(type="str", choices=list(KEY_TYPES), default="ec"),
    key_size=dict(type="int", default=0),
    valid_days=dict(type="int", default=365),
    renew_before_days=dict(type="int", default=30),
)


def ensure_certificate(p, check_mode=False, diff=False) -> dict:
    _require_cryptography()
    try:
        ip_addresses = normalize_ips(p["ip_addresses"])
    except ValueError as exc:
        raise PkiError(f"ip_addresses: {exc}") from None
    ca_cert_path = os.path.join(p["ca_path"], "ca.crt")
    ca_key_path = os.path.join(p["ca_path"], "ca.key")
    if not (os.path.exists(ca_cert_path) and os.path.exists(ca_key_path)):
        if check_mode:  # the CA is made earlier in the same run; in check mode it does not exist yet
            after = predict(p["common_name"], p["dns_names"], ip_addresses, p["valid_days"])
            return dict(changed=True, reasons=["the CA does not exist yet"], certificate=after,
                        **_diff({}, after, p["cert_path"], diff))
        raise PkiError(f"no CA in {p['ca_path']} (ca.crt and ca.key); make it with swarmctl_ca first")
    try:
        ca_cert = load_cert(ca_cert_path)
        ca_key = load_key(ca_key_path)
        key = load_key(p["key_path"]) if os.path.exists(p["key_path"]) else None
        cert = load_cert(p["cert_path"]) if os.path.exists(p["cert_path"]) else None
    except ValueError as exc:
        raise PkiError(f"cannot read a certificate or key: {exc}. Remove the broken file; it will be made again.") from None

    if key is None:
        reasons = ["the private key does not exist"]
    else:
        reasons = renewal_reasons(cert, key, ca_cert, p["dns_names"], ip_addresses, p["renew_before_days"])
    before = after = describe(cert)
    if reasons:
        if check_mode:
            after = predict(p["common_name"], p["dns_names"], ip_addresses, p["valid_days"],
                            issuer=ca_cert.subject.rfc4514_string())
        else:
            if key is None:
                key = generate_key(p["key_type"], p["key_size"])
                write_file(p["key_path"], key_pem(key), 0o600)
            cert = issue_leaf(ca_key, ca_cert, key.public_key(), p["common_name"], p["dns_names"], ip_addresses,
                              p["valid_days"], client_auth=p["client_auth"])
            write_file(p["cert_path"], cert_pem(cert), 0o644)
            after = describe(cert)
    if fix_key_mode(p["key_path"], check_mode):
        reasons.append("the private key was readable by others: mode set to 0600")
    return dict(changed=bool(reasons), reasons=reasons, certificate=after, **_diff(before, after, p["cert_path"], diff))


CERTIFICATE_INFO_SPEC = dict(
    path=dict(type="path", required=True),
    dns_names=dict(type="list", elements="str", default=[]),
    ip_addresses=dict(type="list", elements="str", default=[]),
    ca_cert=dict(type="path"),
    min_days_left=dict(type="int", default=0),
    fail_on_problems=dict(type="bool", default=False),
)


def certificate_info(p, check_mode=False, diff=False) -> dict:
    _require_cryptography()
    if not os.path.exists(p["path"]):
        raise PkiError(f"certificate {p['path']} does not exist")
    try:
        cert = load_cert(p["path"])
        ca_cert = load_cert(p["ca_cert"]) if p["ca_cert"] else None
    except ValueError as exc:
        raise PkiError(f"{p['path']} is not a PEM certificate: {exc}") from None
    dns, ips = subject_alt_names(cert)
    covered = ", ".join([f"DNS:{n}" for n in dns] + [f"IP:{i}" for i in ips]) or "no subjectAltName at all"
    problems = []
    prefix = "the certificate lacks subjectAltName "
    for reason in renewal_reasons(cert, None, ca_cert, p["dns_names"], p["ip_addresses"], p["min_days_left"]):
        if reason.startswith(prefix):
            problems.append(
                f"{p['path']} covers {covered}; clients reaching the server as {reason[len(prefix):]} will refuse it "
                "(x509: certificate is not valid for that name). Issue it with those subjectAltNames"
            )
        else:
            problems.append(f"{p['path']}: {reason}")
    if problems and p["fail_on_problems"]:
        raise PkiError("\n".join(problems))
    return dict(changed=False, certificate=describe(cert), problems=problems)


SECRET_SPEC = dict(path=dict(type="path", required=True), length=dict(type="int", default=32))


def ensure_secret(p, check_mode=False, diff=False) -> dict:
    import secrets
    import string

    path = p["path"]
    exists = os.path.exists(path) and os.path.getsize(path) > 0
    changed = not exists or bool(os.stat(path).st_mode & 0o077)
    if changed and not check_mode:
        if exists:
            os.chmod(path, 0o600)
        else:
            alphabet = string.ascii_letters + string.digits
            value = "".join(secrets.choice(alphabet) for dummy in range(p["length"]))
            write_file(path, value.encode(), 0o600)
    return dict(changed=changed, path=path)
