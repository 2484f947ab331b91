#!/usr/bin/env python3
"""A fake LINE Messaging API: records replies and pushes; a reply token used twice is
refused with 400 and a repeated X-Line-Retry-Key with 409, as LINE does."""
import json, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

lock = threading.Lock()
tokens, keys = set(), set()
log = open(sys.argv[2], "a")

class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body=b"{}"):
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if "/profile/" in self.path:
            return self.reply(200, json.dumps({"displayName": "x", "userId": "u", "language": "th"}).encode())
        self.reply(404)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); body = json.loads(self.rfile.read(n) or b"{}")
        if self.path.endswith("/message/reply"):
            with lock:
                t = body.get("replyToken")
                if t in tokens: return self.reply(400, b'{"message":"Invalid reply token"}')
                tokens.add(t); log.write(json.dumps({"reply": t, "messages": body.get("messages")}, ensure_ascii=False) + "\n"); log.flush()
            return self.reply(200)
        if self.path.endswith("/message/push") or self.path.endswith("/message/multicast"):
            k = self.headers.get("X-Line-Retry-Key")
            with lock:
                if k and k in keys: return self.reply(409, b'{"message":"already accepted"}')
                keys.add(k); log.write(json.dumps({"push": body.get("to"), "messages": body.get("messages")}, ensure_ascii=False) + "\n"); log.flush()
            return self.reply(200)
        if "loading" in self.path: return self.reply(202)
        self.reply(200)

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
