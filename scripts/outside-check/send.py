#!/usr/bin/env python3
"""Sends signed LINE events. Usage: send.py PLAN.json DONE.txt — PLAN is a list of
lists (one list of events per user, sent in order, users in parallel); an event acked
with 200 is appended to DONE by its id; events already in DONE are skipped."""
import base64, hashlib, hmac, json, os, sys, time, threading, urllib.request
secret = os.environ["LINE_CHANNEL_SECRET"].encode()
plan = json.load(open(sys.argv[1])); done_path = sys.argv[2]
done = set(open(done_path).read().split()) if os.path.exists(done_path) else set()
lock = threading.Lock(); out = open(done_path, "a")
url = os.environ.get("WEBHOOK", "http://127.0.0.1:18556/webhook/line")
def send(event):
    body = json.dumps({"destination": "Ubot", "events": [event]}, ensure_ascii=False).encode()
    sig = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json", "X-Line-Signature": sig})
    with urllib.request.urlopen(req, timeout=10) as r: return r.status
def user(events):
    for e in events:
        if e["webhookEventId"] in done: continue
        time.sleep(float(os.environ.get("SEND_DELAY", "0")))
        try:
            if send(e) == 200:
                with lock: out.write(e["webhookEventId"] + "\n"); out.flush()
        except Exception:
            return  # the server is gone: stop this user (order matters)
threads = [threading.Thread(target=user, args=(evs,)) for evs in plan]
[t.start() for t in threads]; [t.join() for t in threads]
