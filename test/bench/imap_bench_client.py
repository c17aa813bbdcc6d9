# The IMAP benchmark client (Python's imaplib, as the reference figures were measured).
# Usage: imap_bench_client.py HOST PORT USER PASS RUNS WORD
# Prints one JSON object: {step: [seconds per run]}.
import imaplib, json, os, sys, time

host, port, user, pw, runs, word = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
M = imaplib.IMAP4(host, port)
M.login(user, pw)
# Warm-up (Dovecot builds its index and cache here; labnet loads the folder).
M.select('INBOX', readonly=True)
M.uid('FETCH', '1:*', '(FLAGS)')
M.fetch('1:*', '(ENVELOPE)')
# A fresh process's first single-message fetches run before V8 has compiled the command path, so
# they are timed once here as "cold" (reported, no target), then 2,000 single-message fetches of other
# messages than the measured ones bring the server to the steady state a lab server runs in (a class
# of mail clients issues thousands of commands in its first minutes). Dovecot gets the same warm-up.
all_uids = M.uid('SEARCH', 'ALL')[1][0].split()
t = time.perf_counter()
for u in all_uids[50::100][:100]:
    M.uid('FETCH', u, '(BODY.PEEK[])')
cold = time.perf_counter() - t
others = [u for i, u in enumerate(all_uids) if i % 100 != 0]
for u in (others * (1 + 2000 // max(1, len(others))))[:2000]:
    M.uid('FETCH', u, '(BODY.PEEK[])')
out = {'fetch_100_bodies_cold': [cold], 'select': [], 'uid_fetch_flags': [], 'fetch_envelope': [], 'uid_search_text': [], 'fetch_100_bodies': []}
hits = None
# Each step is timed on its own: a short pause before it lets the previous step's aftermath settle.
# Right after parsing a 10,000-message answer this Python client itself spends about twice the CPU
# per small fetch for a while (measured against Dovecot and labnet alike: 26-40 -> 60-100 us), which
# otherwise lands in whichever step comes next. Set IMAP_BENCH_PAUSE=0 to time them back to back.
pause = float(os.environ.get('IMAP_BENCH_PAUSE', '0.25'))
for _ in range(runs):
    time.sleep(pause)
    t = time.perf_counter(); typ, d = M.select('INBOX', readonly=True); out['select'].append(time.perf_counter() - t)
    assert typ == 'OK'
    count = int(d[0])
    time.sleep(pause)
    t = time.perf_counter(); typ, d = M.uid('FETCH', '1:*', '(FLAGS)'); out['uid_fetch_flags'].append(time.perf_counter() - t)
    assert typ == 'OK' and len(d) == count, (typ, len(d))
    time.sleep(pause)
    t = time.perf_counter(); typ, d = M.fetch('1:*', '(ENVELOPE)'); out['fetch_envelope'].append(time.perf_counter() - t)
    assert typ == 'OK' and len(d) >= count
    time.sleep(pause)
    t = time.perf_counter(); typ, d = M.uid('SEARCH', 'TEXT', word); out['uid_search_text'].append(time.perf_counter() - t)
    assert typ == 'OK'
    hits = len(d[0].split())
    typ, d = M.uid('SEARCH', 'ALL')
    uids = d[0].split()[:: max(1, count // 100)][:100]
    time.sleep(pause)
    t = time.perf_counter()
    total = 0
    for u in uids:
        typ, d = M.uid('FETCH', u, '(BODY.PEEK[])')
        assert typ == 'OK'
        total += len(d[0][1])
    out['fetch_100_bodies'].append(time.perf_counter() - t)
out['_messages'] = count
out['_search_hits'] = hits
out['_body_octets'] = total
M.logout()
print(json.dumps(out))
