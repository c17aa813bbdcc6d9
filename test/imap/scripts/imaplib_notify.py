# NOTIFY (RFC 5465) with Python's imaplib from two sessions: A registers NOTIFY, B APPENDs. A reads
# what the server pushes without sending a command (STATUS for another mailbox, EXISTS and the
# MessageNew FETCH in the selected one), then, in a second round, lets imaplib itself parse the
# notifications that arrive with a NOOP. Prints "ok <step>" per step and "done".
import imaplib, re, socket, sys

host, port = sys.argv[1], int(sys.argv[2])
imaplib.Commands.setdefault('NOTIFY', ('AUTH', 'SELECTED'))

def msg(subject):
    return f'From: Bob <bob@lab.test>\r\nTo: alice@lab.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n'.encode()

A = imaplib.IMAP4(host, port)
B = imaplib.IMAP4(host, port)
assert 'NOTIFY' in A.capabilities, A.capabilities
A.login('alice', 'alice-lab')
B.login('alice', 'alice-lab')
typ, _ = B.create('Lists')
assert typ == 'OK'
typ, data = A.select('INBOX')
assert typ == 'OK', data
exists = int(data[0])
typ, data = A._simple_command('NOTIFY', 'SET', 'STATUS', '(selected (MessageNew (UID ENVELOPE) MessageExpunge))', '(mailboxes Lists (MessageNew MessageExpunge))')
assert typ == 'OK', data
status = A.untagged_responses.pop('STATUS', [])
assert any(b'Lists' in s and b'MESSAGES 0' in s for s in status), status
print('ok notify-set', flush=True)

# Round 1: nothing is sent on A; the server pushes.
typ, data = B.append('Lists', None, None, msg('to the list'))
assert typ == 'OK', data
typ, data = B.append('INBOX', None, None, msg('to the inbox'))
assert typ == 'OK', data
A.sock.settimeout(10)
got = []
while not (any(l.startswith(b'* STATUS') for l in got) and any(b' FETCH ' in l for l in got)):
    line = A.readline()
    assert line, 'connection closed'
    got.append(line.rstrip(b'\r\n'))
status = [l for l in got if l.startswith(b'* STATUS')][0]
assert re.match(rb'^\* STATUS Lists \(MESSAGES 1 UIDNEXT \d+ UNSEEN 1\)$', status), status
assert f'* {exists + 1} EXISTS'.encode() in got, got
fetch = [l for l in got if b' FETCH ' in l][0]
assert fetch.startswith(f'* {exists + 1} FETCH (UID '.encode()) and b'"to the inbox"' in fetch, fetch
print('ok pushed', flush=True)

# Round 2: B appends again; A's NOOP returns with the notifications, parsed by imaplib.
A.sock.settimeout(None)
typ, data = B.append('Lists', None, None, msg('second to the list'))
assert typ == 'OK'
typ, data = B.append('INBOX', None, None, msg('second to the inbox'))
assert typ == 'OK'
typ, _ = A.noop()
assert typ == 'OK'
status = A.untagged_responses.pop('STATUS', [])
fetches = A.untagged_responses.pop('FETCH', [])
assert any(re.match(rb'^Lists \(MESSAGES 2 UIDNEXT \d+ UNSEEN 2\)$', s) for s in status), status
assert any(b'"second to the inbox"' in (f if isinstance(f, bytes) else b''.join(x if isinstance(x, bytes) else b'' for x in f)) for f in fetches), fetches
print('ok parsed', flush=True)

typ, data = A._simple_command('NOTIFY', 'NONE')
assert typ == 'OK'
typ, data = A._simple_command('NOTIFY', 'SET', '(personal (AnnotationChange))')
assert typ == 'NO' and data[0].startswith(b'[BADEVENT (AnnotationChange)]'), (typ, data)
print('ok badevent', flush=True)
A.logout()
B.logout()
print('done', flush=True)
