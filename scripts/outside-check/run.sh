#!/bin/bash
# The LINE path tested from outside, as LINE and a crash would: the real release binary,
# a fake Messaging API (fake_line.py: a reply token used twice is refused with 400, a
# repeated X-Line-Retry-Key with 409), signed webhook events sent over HTTP (send.py),
# and kill -9 of the server while events arrive.
#
#   scripts/outside-check/run.sh target/release/tambon [WORKDIR]
#
# Phase A: 40 residents file a complaint each at once (7 events each, through the
# intake), the server killed 0.6 s in. Phase B: 8 staff members enrolled by code send
# 25 answers each to those cases, spread so that several answer one case in the same
# queue round, the server killed twice while they arrive. Unacknowledged events are sent
# again, as LINE redelivers. Then it checks: 40 cases with 40 codes; every answer on its
# case exactly once; every event answered exactly once by reply; one push per answer to
# its resident; no ERROR line and no panic in the log. Needs python3, curl; ports 18555-6.
set -u
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
BIN=$(realpath "$1"); W=${2:-$(mktemp -d)}; rm -rf "$W"; mkdir -p "$W/config"
cp -r "$ROOT"/config/* "$W/config/"; cp -r "$ROOT/locales" "$W/locales"
sed -i 's#^api_base = .*#api_base = "http://127.0.0.1:18555"#; s#^data_api_base = .*#data_api_base = "http://127.0.0.1:18555"#' "$W"/config/tambon.toml
export LINE_CHANNEL_SECRET=outside-secret LINE_CHANNEL_ACCESS_TOKEN=t
python3 $HERE/fake_line.py 18555 "$W"/line.log & FAKE=$!
start() { $BIN --config "$W"/config/tambon.toml --data-dir "$W"/data serve --listen 127.0.0.1:18556 >>"$W"/server.log 2>&1 & SRV=$!; for i in $(seq 100); do curl -sf 127.0.0.1:18556/healthz >/dev/null && return; sleep 0.05; done; }
idle() { for i in $(seq 600); do h=$(curl -sf 127.0.0.1:18556/healthz) && echo "$h" | grep -q '"inbound_queued":0' && echo "$h" | grep -q '"deliveries_pending":0' && return; sleep 0.1; done; echo "not idle: $h"; }
cli() { $BIN --config "$W"/config/tambon.toml --data-dir "$W"/data "$@"; }
python3 $HERE/plan.py file > "$W"/planA.json
start
python3 $HERE/send.py "$W"/planA.json "$W"/doneA.txt & sleep 0.6; kill -9 $SRV; wait $!
echo "phase A: acked before the kill: $(wc -l < "$W"/doneA.txt)"
start; python3 $HERE/send.py "$W"/planA.json "$W"/doneA.txt; idle; kill $SRV; wait $SRV
echo "phase A: acked in all: $(wc -l < "$W"/doneA.txt)"
codes=$(cli cases list 2>/dev/null | grep -o 'CP-[0-9]*-[0-9]*' | sort -u | paste -sd,)
echo "cases: $(echo $codes | tr , '\n' | wc -l): $(echo $codes | cut -c1-60)..."
enrol=$(for s in $(seq 8); do cli admin enrol --role staff --division engineering 2>/dev/null | grep -oE 'TB-[A-Z0-9]{4}-[A-Z0-9]{4}'; done | paste -sd,)
echo "enrolment codes: $enrol"
python3 $HERE/plan.py answer "$codes" "$enrol" > "$W"/planB.json
start
SEND_DELAY=0.03 python3 $HERE/send.py "$W"/planB.json "$W"/doneB.txt & sleep 0.4; kill -9 $SRV; wait $!
echo "phase B: acked before the kill: $(wc -l < "$W"/doneB.txt)"
start; SEND_DELAY=0.03 python3 $HERE/send.py "$W"/planB.json "$W"/doneB.txt & sleep 0.3; kill -9 $SRV; wait $!
echo "phase B: acked before the second kill: $(wc -l < "$W"/doneB.txt)"
start; python3 $HERE/send.py "$W"/planB.json "$W"/doneB.txt; idle; kill $SRV; wait $SRV
echo "phase B: acked in all: $(wc -l < "$W"/doneB.txt)"
for c in $(echo $codes | tr , ' '); do cli cases show $c 2>/dev/null; done > "$W"/shown.txt
kill $FAKE
python3 - "$W" <<'PY'
import json, re, sys, collections
W = sys.argv[1]
shown = open(f"{W}/shown.txt").read()
counts = collections.Counter(re.findall(r"คำตอบ-\d-\d+", shown))
expected = [f"คำตอบ-{s}-{i}" for s in range(8) for i in range(1, 26)]
missing = [t for t in expected if counts[t] == 0]; twice = [t for t, n in counts.items() if n > 1]
print(f"answers on cases: {sum(1 for t in expected if counts[t] == 1)} of {len(expected)} exactly once; missing {len(missing)} {missing[:5]}; more than once {len(twice)} {twice[:5]}")
lines = [json.loads(l) for l in open(f"{W}/line.log")]
replies = collections.Counter(l["reply"] for l in lines if "reply" in l)
pushes = collections.Counter(l["push"] for l in lines if "push" in l)
planA = json.load(open(f"{W}/planA.json")); planB = json.load(open(f"{W}/planB.json"))
events = [e for u in planA + planB for e in u]
unanswered = [e["replyToken"] for e in events if replies[e["replyToken"]] == 0]
to_residents = sum(n for u, n in pushes.items() if u.startswith('Uresident'))
print(f"events {len(events)}: answered by reply {len(events) - len(unanswered)}; not by reply {len(unanswered)} {unanswered[:4]}; pushes {sum(pushes.values())} (to residents: {to_residents})")
n_cases = len(set(re.findall(r"CP-\d+-\d+", shown)))
sys.exit(0 if not missing and not twice and not unanswered and to_residents == len(expected) and n_cases == 40 else 1)
PY
ok=$?
grep -c '"level":"ERROR"\|ERROR' "$W"/server.log | sed 's/^/ERROR lines: /'; grep -c "overlapped" "$W"/server.log | sed "s/^/rounds that overlapped: /"; grep -c panicked "$W"/server.log | sed 's/^/panics: /'
errors=$(grep -c 'ERROR\|panicked' "$W/server.log")
if [ "$ok" = 0 ] && [ "$errors" = 0 ]; then echo "outside check: passed"; else echo "outside check: FAILED (see $W)"; exit 1; fi
