# Python's imaplib sort() and uid('SORT') against labnet: prints the answers as "name: numbers" lines
# for the test to check; exits non-zero on a NO/BAD.
import imaplib, sys

host, port = sys.argv[1], int(sys.argv[2])
M = imaplib.IMAP4(host, port)
caps = M.capabilities
assert 'SORT' in caps and 'ESEARCH' in caps, caps
M.login('carol', 'carol-lab')
typ, _ = M.select('INBOX')
assert typ == 'OK'
for name, crit in [('subject', '(SUBJECT)'), ('reverse-size', '(REVERSE SIZE)'), ('from', '(FROM)'), ('size', '(SIZE)')]:
    typ, data = M.sort(crit, 'UTF-8', 'ALL')
    assert typ == 'OK', (name, typ, data)
    print(f'{name}: {data[0].decode()}', flush=True)
typ, data = M.uid('SORT', '(SUBJECT)', 'UTF-8', 'SUBJECT', 'lab')
assert typ == 'OK', (typ, data)
print(f'uid-subject-lab: {data[0].decode()}', flush=True)
typ, data = M.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')
assert typ == 'OK', (typ, data)
print(f'thread: {data[0].decode()}', flush=True)
typ, data = M.thread('REFERENCES', 'UTF-8', 'ALL')
assert typ == 'OK', (typ, data)
print(f'thread-references: {data[0].decode()}', flush=True)
M.logout()
print('done')
