#!/usr/bin/env python3
"""labnet's REST API from Python's standard library alone (urllib, smtplib, imaplib), the way a test
suite in another language uses it. Reads {http, smtp, imap, token} as JSON on stdin, prints one JSON
object with what it saw; the Node test asserts on it."""
import base64
import imaplib
import json
import smtplib
import sys
import urllib.error
import urllib.request
from email.message import EmailMessage

args = json.load(sys.stdin)
base = f"http://127.0.0.1:{args['http']}/api/v1"
auth = {"Authorization": f"Bearer {args['token']}"}
tag = args["tag"]
out = {}


def call(method, path, body=None, headers=auth):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers=dict(headers))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# Send with smtplib: a text body and one attachment.
msg = EmailMessage()
msg["From"] = "python@school.example"
msg["To"] = "alice@lab.test"
msg["Subject"] = f"from python {tag}"
msg.set_content(f"hello from urllib {tag}\n")
msg.add_attachment(b"\x00\x01binary\xff", maintype="application", subtype="octet-stream", filename="blob.bin")
# local_hostname: smtplib would otherwise look up this machine's FQDN for EHLO (slow without DNS).
with smtplib.SMTP("127.0.0.1", args["smtp"], local_hostname="client.school.example", timeout=10) as s:
    s.send_message(msg)

# The 250 came after the message was stored durably: it is listed at once.
status, _, body = call("GET", f"/messages?to=alice%40lab.test&subject={tag}")
listing = json.loads(body)
out["list"] = {"status": status, "total": listing["total"], "subjects": [m["subject"] for m in listing["messages"]]}
self_link = listing["messages"][0]["links"]["self"]
path = self_link[len("/api/v1"):]

status, _, body = call("GET", path)
m = json.loads(body)
out["message"] = {"status": status, "from": m["from"]["value"][0]["address"], "text": m["text"], "attachments": [[a["filename"], a["size"]] for a in m["attachments"]]}
status, headers, body = call("GET", m["attachments"][0]["links"]["content"][len("/api/v1"):])
out["attachment"] = {"status": status, "b64": base64.b64encode(body).decode(), "type": headers.get("Content-Type")}
status, headers, raw = call("GET", path + "/raw")
out["raw"] = {"status": status, "type": headers.get("Content-Type"), "hasSubject": f"Subject: from python {tag}".encode() in raw}

# Users: add one, log in with imaplib, remove it, the login fails.
status, _, body = call("POST", "/users", {"name": f"py{tag}", "password": "py-pass"})
out["addUser"] = {"status": status, "body": json.loads(body)}
def imap_login(user, password):
    try:
        c = imaplib.IMAP4("127.0.0.1", args["imap"])
        c.login(user, password)
        c.logout()
        return True
    except imaplib.IMAP4.error:
        return False
out["loginAfterAdd"] = imap_login(f"py{tag}", "py-pass")
status, _, _ = call("DELETE", f"/users/py{tag}")
out["removeUser"] = status
out["loginAfterRemove"] = imap_login(f"py{tag}", "py-pass")

status, _, body = call("DELETE", path)
out["delete"] = status
status, _, body = call("GET", path)
out["afterDelete"] = {"status": status, "code": json.loads(body)["code"]}
status, headers, body = call("GET", "/messages", headers={})
out["noToken"] = {"status": status, "challenge": headers.get("WWW-Authenticate"), "code": json.loads(body)["code"]}
print(json.dumps(out))
