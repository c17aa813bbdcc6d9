# One of several concurrent writers on one mailbox (test/imap/concurrent-crash.test.ts): APPEND,
# UID STORE +FLAGS, UID COPY and UID EXPUNGE of its own messages, with Python's imaplib. Prints one
# JSON line per acknowledged operation (and "expunging" before an expunge starts, whose outcome is
# unknown if the server dies meanwhile); stops at the first error (the server was killed) or after
# `count` rounds.
import imaplib, json, re, sys

host, port, name, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def out(**kw):
    print(json.dumps(kw), flush=True)

try:
    M = imaplib.IMAP4(host, port)
    M.login('alice', 'alice-lab')
    M.select('INBOX')
    mine = []
    for i in range(count):
        subject = f'{name}-{i}'
        msg = f'From: {name}@lab.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n'.encode()
        typ, data = M.append('INBOX', None, None, msg)
        assert typ == 'OK', data
        uid = int(re.search(rb'APPENDUID \d+ (\d+)', data[0]).group(1))
        out(op='append', subject=subject, uid=uid)
        mine.append(uid)
        if i % 2 == 1:
            u = mine[-2]
            typ, data = M.uid('STORE', str(u), '+FLAGS', '(\\Flagged)')
            assert typ == 'OK', data
            out(op='flag', uid=u)
        if i % 3 == 2:
            u = mine[-1]
            typ, data = M.uid('COPY', str(u), 'Archive')
            assert typ == 'OK', data
            # imaplib files the tagged response's [COPYUID ...] code under its name.
            _, codes = M.response('COPYUID')
            m = re.match(rb'\d+ (\d+) (\d+)', codes[-1])
            out(op='copy', uid=u, dst=int(m.group(2)))
        if i % 4 == 3:
            u = mine.pop(0)
            out(op='expunging', uid=u)
            typ, data = M.uid('STORE', str(u), '+FLAGS.SILENT', '(\\Deleted)')
            assert typ == 'OK', data
            typ, data = M.uid('EXPUNGE', str(u))
            assert typ == 'OK', data
            out(op='expunged', uid=u)
        M.noop()
    M.logout()
except Exception as e:  # the server was killed: stop quietly
    out(op='end', error=str(e)[:200])
