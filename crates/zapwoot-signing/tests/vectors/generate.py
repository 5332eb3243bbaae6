#!/usr/bin/env python3
"""Regenerates signing_vectors.json with OpenSSL (`openssl dgst -sha256 -mac HMAC`), an
implementation independent of ring. Python only shells out and writes JSON; no hmac module.

Run from this folder: python3 generate.py > signing_vectors.json
"""
import base64, json, subprocess

def openssl_hmac(key: bytes, message: bytes) -> bytes:
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + key.hex(), "-binary"],
        input=message, capture_output=True, check=True,
    ).stdout
    assert len(out) == 32
    return out

GOWA_BODY = '{"device_id":"628123@s.whatsapp.net","event":"message","payload":{"body":"Ol\u00e1 \U0001F600 \\u003cb\\u003e","chat_id":"5511987654321@s.whatsapp.net","from":"5511987654321@s.whatsapp.net","id":"3EB0C1A2B3C4D5E6F7","is_from_me":false,"pushname":"Maria","timestamp":"2026-06-18T13:02:14Z"}}'
WUZAPI_FORM = "instanceName=alpha&jsonData=%7B%22event%22%3A%7B%22Info%22%3A%7B%22ID%22%3A%223EB0%22%7D%2C%22Message%22%3A%7B%22conversation%22%3A%22a+b%2Bc%22%7D%7D%2C%22type%22%3A%22Message%22%7D&userID=bd4d8ab9e54f4b5fb0a1c2d3e4f5a6b7"
WUZAPI_JSON = '{"event":{"Info":{"ID":"3EB0"},"Message":{"conversation":"hi"}},"instanceName":"alpha","type":"Message","userID":"bd4d8ab9e54f4b5fb0a1c2d3e4f5a6b7"}'
CHATWOOT_BODY = '{"account":{"id":1,"name":"Acme"},"content":"Hello **there**","event":"message_created","id":4242,"message_type":"outgoing","private":false}'

vectors = []

def add(scheme, source, secret_kind, secret, body, expected, timestamp=None, msg_id=None):
    vectors.append({k: v for k, v in dict(
        scheme=scheme, source=source, secret_kind=secret_kind, secret=secret, body=body,
        timestamp=timestamp, id=msg_id, expected=expected).items() if v is not None})

# hub: raw secret bytes, "sha256=" + hex over the body
for source, secret, body in [
    ("GitHub docs, validating-webhook-deliveries", "It's a Secret to Everybody", "Hello, World!"),
    ("openssl", "gowa-webhook-secret", GOWA_BODY),
    ("openssl", "k", ""),
]:
    tag = openssl_hmac(secret.encode(), body.encode())
    add("hub", source, "raw", secret, body, "sha256=" + tag.hex())

# plain hex (wuzapi): raw secret bytes, bare hex over the exact body (form or JSON)
for body in [WUZAPI_FORM, WUZAPI_JSON]:
    secret = "wuzapi-hmac-key-at-least-32-chars!!"
    add("plain_hex", "openssl", "raw", secret, body, openssl_hmac(secret.encode(), body.encode()).hex())

# Chatwoot: raw secret bytes, "sha256=" + hex over "{ts}.{body}"
for ts, body in [("1781787734", CHATWOOT_BODY), ("1700000000", "")]:
    secret = "Zx9vQm3Lk2Pq8Rt5Wy7Ub4Nc"
    tag = openssl_hmac(secret.encode(), f"{ts}.{body}".encode())
    add("chatwoot", "openssl", "raw", secret, body, "sha256=" + tag.hex(), timestamp=ts)

# Standard Webhooks: whsec_ base64 secret, "v1," + base64 over "{id}.{ts}.{body}"
for source, secret, msg_id, ts, body in [
    ("Standard Webhooks / svix test_sign", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
     "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553", '{"email":"test@example.com","username":"test_user"}'),
    ("openssl", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "evt_01J0ZAPWOOT0000000000000", "1781787734", CHATWOOT_BODY),
]:
    key = base64.b64decode(secret[len("whsec_"):])
    tag = openssl_hmac(key, f"{msg_id}.{ts}.{body}".encode())
    add("standard", source, "standard", secret, body, "v1," + base64.b64encode(tag).decode(),
        timestamp=ts, msg_id=msg_id)

print(json.dumps(vectors, indent=2, ensure_ascii=False))
