#!/usr/bin/python3
"""The original's message layer (ValiMail dane-jwe-jws over jwcrypto), as a
test peer for danemq. Its sign/encrypt and decrypt/verify steps are the
original's, call for call; only the DNS lookup of a peer's certificate is
replaced by a PEM file given on the command line (--peer NAME=FILE).

  seal: sign the message (stdin) with our key, encrypt it to the recipient
        (--to), print it. RSA keys use the original's RS256 and
        RSA-OAEP-256/A256CBC-HS512; EC P-256 keys ES256 and ECDH-ES/A256GCM.
  open: decrypt with our key, read the signer from x5u, verify with the
        signer's key, print {"sender": ..., "text": ..., "headers": ...}.
Exit status 0 on success, 1 with the reason on stderr otherwise.

Run with Debian's /usr/bin/python3 (python3-jwcrypto).
"""
import argparse
import json
import sys

from jwcrypto import jwe, jwk, jws
from jwcrypto.common import json_decode


def build_dns_uri(device_id):
    """The original's Util.build_dns_uri."""
    return "dns://{}?type=TLSA".format(device_id)


def get_name_from_dns_uri(dns_uri):
    """The original's Util.get_name_from_dns_uri."""
    preamble = "dns:"
    ending = "?type=TLSA"
    if not dns_uri.startswith(preamble):
        raise ValueError("Bad format. See RFC 4501.")
    if not dns_uri.endswith(ending):
        raise ValueError("Bad format. See RFC 4501.")
    reduced = dns_uri.replace(preamble, "").replace(ending, "")
    return reduced.split("/")[-1]


def load_key(path):
    with open(path, "rb") as pem:
        return jwk.JWK.from_pem(pem.read())


def sign(message, private_key, dane_id, alg, compact=False):
    """The original's Authentication.sign (alg RS256, JSON serialization there)."""
    dns_uri = build_dns_uri(dane_id)
    protected = {"alg": alg, "x5u": dns_uri}
    jwstoken = jws.JWS(message.encode("utf-8"))
    jwstoken.add_signature(private_key, None, protected)
    return jwstoken.serialize(compact)


def encrypt(message, pubkey, dane_id, alg, enc, compact=False):
    """The original's Encryption.encrypt (RSA-OAEP-256 / A256CBC-HS512, JSON there)."""
    protected_header = {"alg": alg, "enc": enc, "typ": "JWE", "x5u": build_dns_uri(dane_id)}
    jwetoken = jwe.JWE(message.encode("utf-8"), recipient=pubkey, protected=protected_header)
    return jwetoken.serialize(compact)


def decrypt(message, private_key):
    """The original's Encryption.decrypt."""
    token = jwe.JWE()
    token.deserialize(message, key=private_key)
    return token.payload.decode()


def verify(message, peers):
    """The original's Authentication.verify, the DNS lookup replaced by `peers`."""
    jws_token = jws.JWS()
    jws_token.deserialize(message)
    dns_uri = jws_token.jose_header["x5u"]
    dns_name = get_name_from_dns_uri(dns_uri)
    if dns_name not in peers:
        raise ValueError("no certificate in DNS for " + dns_name)
    jws_token.verify(peers[dns_name])
    return dns_name, jws_token.payload, jws_token.jose_header


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["seal", "open"])
    parser.add_argument("--key", required=True, help="our private key (PEM)")
    parser.add_argument("--name", required=True, help="our DNS name")
    parser.add_argument("--peer", action="append", default=[], help="NAME=PEM: a peer's public key")
    parser.add_argument("--to", help="seal: recipient name")
    parser.add_argument("--compact", action="store_true", help="seal: compact serialization at both layers")
    args = parser.parse_args()

    our_key = load_key(args.key)
    peers = {}
    for entry in args.peer:
        name, path = entry.split("=", 1)
        peers[name] = load_key(path)

    try:
        if args.mode == "seal":
            text = sys.stdin.read()
            sig_alg = "ES256" if our_key["kty"] == "EC" else "RS256"
            key_alg, enc = ("ECDH-ES", "A256GCM") if peers[args.to]["kty"] == "EC" else \
                ("RSA-OAEP-256", "A256CBC-HS512")
            signed = sign(text, our_key, args.name, sig_alg, args.compact)
            sealed = encrypt(signed, peers[args.to], args.to, key_alg, enc, args.compact)
            sys.stdout.write(sealed)
        else:
            message = sys.stdin.read()
            signed = decrypt(message, our_key)
            sender, payload, header = verify(signed, peers)
            outer = jwe.JWE()
            outer.deserialize(message)
            json.dump({"sender": sender, "text": payload.decode("utf-8"), "headers": header,
                       "outer_headers": json_decode(outer.objects["protected"])}, sys.stdout)
    except Exception as error:  # the peer reports, the C++ test judges
        sys.stderr.write("{}: {}\n".format(type(error).__name__, error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
