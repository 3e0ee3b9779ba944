#!/usr/bin/python3
"""Writes the seed corpus of dane_answer_fuzz into corpus/tlsa/: DNS answers
to `dev._device.example.net TLSA` (records, CNAME chains, RRSIGs, NXDOMAIN with
SOA, SERVFAIL with an RFC 8914 extended error, truncation), bare TLSA RDATA
and presentation forms. Certificates come from the openssl command.

    tests/fuzz/make_tlsa_corpus.py
"""
import hashlib
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "tlsa")
QNAME = "dev._device.example.net"
TLSA, CNAME, SOA, RRSIG, OPT = 52, 5, 6, 46, 41


def certificate(key_args):
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.der")
        subprocess.run(["openssl", "req", "-x509", "-nodes", "-newkey", *key_args, "-keyout", key, "-outform", "DER",
                        "-out", cert, "-subj", "/CN=" + QNAME, "-addext", "subjectAltName=DNS:" + QNAME, "-days", "30"],
                       check=True, capture_output=True)
        spki = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                              capture_output=True).stdout
        with open(cert, "rb") as f:
            return f.read(), spki


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, ttl, rdata):
    return name(owner) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def tlsa(usage, selector, matching, data):
    return bytes([usage, selector, matching]) + data


def rrsig(covered, signer):
    return struct.pack("!HBBIIIH", covered, 13, 4, 60, 2000000000, 1600000000, 4242) + name(signer) + os.urandom(64)


def opt(ede=None):
    options = b""
    if ede is not None:
        code, text = ede
        body = struct.pack("!H", code) + text.encode()
        options = struct.pack("!HH", 15, len(body)) + body
    return b"\0" + struct.pack("!HHIH", OPT, 1232, 0x8000, len(options)) + options


def message(rcode=0, ad=True, tc=False, answer=(), authority=(), ede=None):
    flags = 0x8000 | 0x0100 | 0x0080 | (0x0020 if ad else 0) | (0x0200 if tc else 0) | rcode
    header = struct.pack("!HHHHHH", 0x4242, flags, 1, len(answer), len(authority), 1)
    question = name(QNAME) + struct.pack("!HH", TLSA, 1)
    return header + question + b"".join(answer) + b"".join(authority) + opt(ede)


def main():
    os.makedirs(OUT, exist_ok=True)
    ec_cert, ec_spki = certificate(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    rsa_cert, rsa_spki = certificate(["rsa:2048"])
    soa = rr("example.net", SOA, 3600, name("ns.example.net") + name("hostmaster.example.net") +
             struct.pack("!IIIII", 1, 3600, 600, 86400, 30))
    seeds = {
        "answer-300": message(answer=[rr(QNAME, TLSA, 300, tlsa(3, 0, 0, ec_cert)), rr(QNAME, RRSIG, 300, rrsig(TLSA, "example.net"))]),
        "answer-310-rsa": message(answer=[rr(QNAME, TLSA, 300, tlsa(3, 1, 0, rsa_spki))]),
        "answer-rollover": message(answer=[rr(QNAME, TLSA, 60, tlsa(3, 0, 0, ec_cert)), rr(QNAME, TLSA, 60, tlsa(3, 0, 0, rsa_cert))]),
        "answer-hashes": message(answer=[rr(QNAME, TLSA, 60, tlsa(3, 1, 1, hashlib.sha256(ec_spki).digest())),
                                         rr(QNAME, TLSA, 60, tlsa(3, 0, 2, hashlib.sha512(ec_cert).digest()))]),
        "answer-pkix": message(ad=False, answer=[rr(QNAME, TLSA, 60, tlsa(4, 0, 0, ec_cert)), rr(QNAME, TLSA, 60, tlsa(1, 0, 0, rsa_cert))]),
        "answer-malformed": message(answer=[rr(QNAME, TLSA, 60, tlsa(3, 0, 0, b"\x30\x03\x02\x01\x01")),
                                            rr(QNAME, TLSA, 60, tlsa(7, 9, 9, b"\x01")), rr(QNAME, TLSA, 60, b"\x03\x01")]),
        "answer-cname": message(answer=[rr(QNAME, CNAME, 60, name("mid.example.org")), rr("mid.example.org", CNAME, 60, name("dev.example.com")),
                                        rr("dev.example.com", TLSA, 60, tlsa(3, 1, 0, ec_spki)), rr("dev.example.com", RRSIG, 60, rrsig(TLSA, "example.com"))]),
        "answer-cname-loop": message(answer=[rr(QNAME, CNAME, 60, name("loop.example.net")), rr("loop.example.net", CNAME, 60, name(QNAME))]),
        "nxdomain": message(rcode=3, authority=[soa]),
        "nodata": message(authority=[soa]),
        "servfail-ede": message(rcode=2, ad=False, ede=(6, "signature crypto failed")),
        "truncated": message(tc=True),
        "rdata-300": tlsa(3, 0, 0, ec_cert),
        "rdata-311": tlsa(3, 1, 1, hashlib.sha256(ec_spki).digest()),
        "text-311": ("3 1 1 " + hashlib.sha256(ec_spki).hexdigest()).encode(),
        "text-300-split": ("3 0 0 " + " ".join(ec_cert.hex()[i:i + 56] for i in range(0, len(ec_cert.hex()), 56))).encode(),
    }
    for file, data in seeds.items():
        with open(os.path.join(OUT, file), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
