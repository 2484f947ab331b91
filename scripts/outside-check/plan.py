#!/usr/bin/env python3
"""Writes the events of run.sh's phases as JSON: `plan.py file` (40 residents filing a
complaint each), `plan.py answer CODES ENROL_CODES` (a staff member per enrolment code,
25 answers each, spread over the cases)."""
import json, sys, time
def ev(user, n, kind, payload):
    e = {"type": "message" if kind == "text" else "postback", "mode": "active",
         "timestamp": int(time.time() * 1000), "source": {"type": "user", "userId": user},
         "webhookEventId": f"01{user}{n:06d}", "deliveryContext": {"isRedelivery": False},
         "replyToken": f"tok-{user}-{n}"}
    if kind == "text": e["message"] = {"id": f"m{user}{n}", "type": "text", "text": payload}
    else: e["postback"] = {"data": payload}
    return e
which = sys.argv[1]
if which == "file":
    plan = []
    for r in range(40):
        u = f"Uresident{r:06d}"
        steps = [("pb", "complain"), ("pb", "cat:roads"), ("text", f"ถนนหมู่ {r} เป็นหลุมลึก"),
                 ("pb", "skip"), ("pb", "skip"), ("text", "089-111-2222"), ("pb", "confirm")]
        plan.append([ev(u, i, k, p) for i, (k, p) in enumerate(steps)])
else:
    codes = sys.argv[2].split(","); enrol = sys.argv[3].split(",")
    plan = []
    for s in range(len(enrol)):
        u = f"Ustaff{s:06d}"
        evs = [ev(u, 0, "text", enrol[s])]
        for i in range(1, 26):
            evs.append(ev(u, i, "text", f"ตอบ {codes[(i + s) % len(codes)]} คำตอบ-{s}-{i}"))
        plan.append(evs)
json.dump(plan, sys.stdout, ensure_ascii=False)
