# The IMAP benchmark client (Python's imaplib, as the reference figures were measured).
# Usage: imap_bench_client.py HOST PORT USER PASS RUNS WORD
# Prints one JSON object: {step: [seconds per run]}.
import imaplib, json, sys, time

host, port, user, pw, runs, word = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
M = imaplib.IMAP4(host, port)
M.login(user, pw)
# Warm-up (Dovecot builds its index and cache here; labnet loads the folder).
M.select('INBOX', readonly=True)
M.uid('FETCH', '1:*', '(FLAGS)')
M.fetch('1:*', '(ENVELOPE)')
# ... and single-message fetches of other messages than the measured ones (warms labnet's JIT the
# way a long-running server is warm; Dovecot's per-session process starts fresh each time anyway).
for u in M.uid('SEARCH', 'ALL')[1][0].split()[50::100][:100]:
    M.uid('FETCH', u, '(BODY.PEEK[])')
out = {'select': [], 'uid_fetch_flags': [], 'fetch_envelope': [], 'uid_search_text': [], 'fetch_100_bodies': []}
hits = None
for _ in range(runs):
    t = time.perf_counter(); typ, d = M.select('INBOX', readonly=True); out['select'].append(time.perf_counter() - t)
    assert typ == 'OK'
    count = int(d[0])
    t = time.perf_counter(); typ, d = M.uid('FETCH', '1:*', '(FLAGS)'); out['uid_fetch_flags'].append(time.perf_counter() - t)
    assert typ == 'OK' and len(d) == count, (typ, len(d))
    t = time.perf_counter(); typ, d = M.fetch('1:*', '(ENVELOPE)'); out['fetch_envelope'].append(time.perf_counter() - t)
    assert typ == 'OK' and len(d) >= count
    t = time.perf_counter(); typ, d = M.uid('SEARCH', 'TEXT', word); out['uid_search_text'].append(time.perf_counter() - t)
    assert typ == 'OK'
    hits = len(d[0].split())
    typ, d = M.uid('SEARCH', 'ALL')
    uids = d[0].split()[:: max(1, count // 100)][:100]
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
