# Drives labnet's IMAP server with Python's imaplib through every command the issue lists. Exits
# non-zero (AssertionError) on the first wrong answer; prints one "ok <step>" line per step.
import base64, imaplib, re, smtplib, socket, sys, time

host, imap_port, smtp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Extensions imaplib does not know by name.
for name, states in {'ID': ('NONAUTH', 'AUTH', 'SELECTED'), 'ENABLE': ('AUTH', 'SELECTED'), 'MOVE': ('SELECTED',), 'UNSELECT': ('SELECTED',)}.items():
    imaplib.Commands.setdefault(name, states)

def step(name):
    print('ok', name, flush=True)

def ok(res, what):
    typ, data = res
    assert typ == 'OK', f'{what}: {typ} {data}'
    return data

def untagged(M, name):
    return M.untagged_responses.pop(name, [])

# --- not authenticated: CAPABILITY, NOOP, bad LOGIN, LOGIN with literals, AUTHENTICATE ---
M = imaplib.IMAP4(host, imap_port)
caps = ok(M.capability(), 'CAPABILITY')[0].decode().split()
for c in ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'AUTH=PLAIN', 'IDLE', 'NAMESPACE', 'UIDPLUS', 'MOVE', 'SPECIAL-USE', 'CHILDREN', 'UNSELECT', 'ENABLE', 'ID', 'LIST-STATUS']:
    assert c in caps, f'capability {c} missing: {caps}'
assert any(c.startswith('APPENDLIMIT=') for c in caps)
ok(M.noop(), 'NOOP')
try:
    M.login('alice', 'wrong')
    raise AssertionError('bad password accepted')
except imaplib.IMAP4.error as e:
    assert 'AUTHENTICATIONFAILED' in str(e), e
try:
    M.select('INBOX')
    raise AssertionError('SELECT before login accepted')
except imaplib.IMAP4.error:
    pass
step('not-authenticated')

# LOGIN with the password as a synchronising literal (imaplib sends {n} and waits for "+").
M.literal = b'alice-lab'
typ, data = M._simple_command('LOGIN', 'alice')
assert typ == 'OK', data
M.state = 'AUTH'
step('login-literal')
ok(M.logout(), 'LOGOUT') if False else M.logout()

# AUTHENTICATE PLAIN without and with an initial response (SASL-IR).
M = imaplib.IMAP4(host, imap_port)
ok(M.authenticate('PLAIN', lambda _: b'\0alice\0alice-lab'), 'AUTHENTICATE PLAIN')
M.logout()
M = imaplib.IMAP4(host, imap_port)
ir = base64.b64encode(b'\0alice@lab.test\0alice-lab').decode()
typ, data = M._simple_command('AUTHENTICATE', 'PLAIN', ir)
assert typ == 'OK', data
M.state = 'AUTH'
step('authenticate')

# --- authenticated: ID, NAMESPACE, ENABLE, LIST special-use, CREATE/RENAME/DELETE, SUBSCRIBE ---
typ, data = M._simple_command('ID', '("name" "imaplib")')
assert typ == 'OK'
assert b'labnet' in untagged(M, 'ID')[0]
ok(M.namespace(), 'NAMESPACE')
typ, data = M._simple_command('ENABLE', 'CONDSTORE')
assert typ == 'OK', data
lst = ok(M.list(), 'LIST')
text = b'\n'.join(lst).decode()
for name, attr in [('Drafts', '\\Drafts'), ('Sent', '\\Sent'), ('Trash', '\\Trash'), ('Junk', '\\Junk'), ('Archive', '\\Archive')]:
    assert re.search(r'\(([^)]*)\) "\." %s$' % name, text, re.M), text
    assert attr in re.search(r'\(([^)]*)\) "\." %s$' % name, text, re.M).group(1), text
assert '(\\HasNoChildren) "." INBOX' in text, text
ok(M.create('Projects'), 'CREATE')
ok(M.create('Projects.2026'), 'CREATE child')
text = b'\n'.join(ok(M.list('""', 'Projects*'), 'LIST pattern')).decode()
assert '(\\HasChildren) "." Projects' in text and '(\\HasNoChildren) "." Projects.2026' in text, text
text = b'\n'.join(ok(M.list('""', '%'), 'LIST %')).decode()
assert 'Projects.2026' not in text and 'Projects' in text
ok(M.rename('Projects', 'Work'), 'RENAME')
text = b'\n'.join(ok(M.list('""', '*'), 'LIST')).decode()
assert 'Work.2026' in text and 'Projects' not in text, text
ok(M.subscribe('Work'), 'SUBSCRIBE')
lsub = b'\n'.join(ok(M.lsub('""', '*'), 'LSUB')).decode()
assert '"." Work' in lsub and 'Sent' in lsub, lsub
ok(M.unsubscribe('Work'), 'UNSUBSCRIBE')
assert ok(M.lsub('""', 'Work'), 'LSUB') == [None], 'unsubscribed'
ok(M.delete('Work.2026'), 'DELETE')
ok(M.delete('Work'), 'DELETE')
typ, data = M.delete('INBOX')
assert typ == 'NO'
typ, data = M.create('Entwürfe'.encode('utf-7').decode().replace('+', '&'))  # modified UTF-7 by hand
assert typ == 'OK', data
assert 'Entw&APw-rfe' in b'\n'.join(ok(M.list('""', 'Entw*'), 'LIST mutf7')).decode()
# LIST-EXTENDED with RETURN (SPECIAL-USE STATUS (...)): LIST-STATUS.
typ, data = M._simple_command('LIST', '""', '"*"', 'RETURN', '(SPECIAL-USE STATUS (MESSAGES UNSEEN))')
assert typ == 'OK', data
statuses = untagged(M, 'STATUS')
assert any(s.startswith(b'INBOX (MESSAGES ') for s in statuses), statuses
step('mailboxes')

# --- INBOX holds the nodemailer messages: STATUS, SELECT, FETCH, SEARCH ---
st = ok(M.status('INBOX', '(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)'), 'STATUS')[0].decode()
n = int(re.search(r'MESSAGES (\d+)', st).group(1))
assert n == 3, st
assert 'UNSEEN 3' in st and 'RECENT 3' in st, st
data = ok(M.select('INBOX'), 'SELECT')
assert data == [b'3'], data
assert untagged(M, 'RECENT') == [b'3']
assert M.untagged_responses.get('UIDVALIDITY')
typ, data = M.fetch('1:*', '(FLAGS)')
assert all(b'\\Recent' in d for d in data), data
env = ok(M.fetch('1', '(ENVELOPE RFC822.SIZE INTERNALDATE UID)'), 'FETCH ENVELOPE')[0]
assert b'"First message"' in env and b'("Bob" NIL "bob" "lab.test")' in env, env
bs = ok(M.fetch('3', '(BODYSTRUCTURE)'), 'FETCH BODYSTRUCTURE')[0]
assert b'"mixed"' in bs and b'"attachment"' in bs and b'"notes.txt"' in bs, bs
hdr = ok(M.fetch('2', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])'), 'FETCH HEADER.FIELDS')[0]
assert hdr[1] == b'Subject: Second message\r\n\r\n', hdr
flags = ok(M.fetch('2', '(FLAGS)'), 'FETCH FLAGS')[0]
assert b'\\Seen' not in flags, 'PEEK must not set \\Seen'
part = ok(M.fetch('3', '(BODY[1]<0.11>)'), 'FETCH partial')
assert part[0][0].endswith(b'BODY[1]<0> {11}') and part[0][1] == b'Attachment ', part
assert any(b'\\Seen' in (p if isinstance(p, bytes) else p[0]) for p in part), 'BODY[] sets \\Seen and reports FLAGS'
full = ok(M.fetch('1', '(RFC822)'), 'FETCH RFC822')[0][1]
assert full.startswith(b'') and b'Subject: First message' in full and full.endswith(b'\r\n')
size = int(re.search(rb'RFC822.SIZE (\d+)', env).group(1))
assert size == len(full), (size, len(full))
for macro in ['ALL', 'FAST', 'FULL']:
    ok(M.fetch('1:*', macro), 'FETCH ' + macro)
ok(M.fetch('1', '(RFC822.HEADER RFC822.TEXT BODY BODY.PEEK[TEXT] BODY.PEEK[1.MIME])'), 'FETCH misc')
assert ok(M.search(None, 'ALL'), 'SEARCH')[0] == b'1 2 3'
assert ok(M.search(None, 'SUBJECT', 'second'), 'SEARCH SUBJECT')[0] == b'2'
assert ok(M.search(None, 'OR', 'SUBJECT', 'first', 'BODY', 'attachment'), 'SEARCH OR')[0] == b'1 3'
assert ok(M.search(None, 'NOT', 'SEEN'), 'SEARCH NOT')[0] == b'2'
assert ok(M.search('UTF-8', 'TEXT', 'grüße'.encode()), 'SEARCH CHARSET')[0] == b'2'
uids = ok(M.uid('SEARCH', 'ALL'), 'UID SEARCH')[0].split()
assert len(uids) == 3
typ, data = M.search('KOI8-R', 'ALL')
assert typ == 'NO'
step('fetch-search')

# --- STORE, UID STORE, COPY/COPYUID, MOVE, EXPUNGE, UID EXPUNGE, CHECK ---
r = ok(M.store('1', '+FLAGS', '(\\Flagged $Important)'), 'STORE +FLAGS')[0]
assert b'\\Flagged' in r and b'$Important' in r, r
r = ok(M.store('1', '-FLAGS.SILENT', '(\\Flagged)'), 'STORE -FLAGS.SILENT')
assert r == [None], r
r = ok(M.uid('STORE', uids[1], 'FLAGS', '(\\Answered)'), 'UID STORE')[0]
assert b'UID ' + uids[1] in r and b'\\Answered' in r, r
typ, data = M.copy('1:2', 'Archive')
assert typ == 'OK'
copyuid = M.untagged_responses.pop('COPYUID', None) or [re.search(rb'\[COPYUID ([^\]]+)\]', data[0]).group(1)]
assert copyuid and len(copyuid[0].split()) == 3, (data, copyuid)
typ, data = M.uid('COPY', uids[2], 'Nonexistent')
assert typ == 'NO' and b'TRYCREATE' in data[0], data
typ, data = M._simple_command('MOVE', '3', 'Trash')
assert typ == 'OK', data
assert untagged(M, 'EXPUNGE') == [b'3']
assert ok(M.status('Trash', '(MESSAGES)'), 'STATUS')[0].endswith(b'(MESSAGES 1)')
ok(M.check(), 'CHECK')
ok(M.store('1:2', '+FLAGS', '(\\Deleted)'), 'STORE \\Deleted')
typ, data = M.uid('EXPUNGE', uids[1])
assert typ == 'OK', data
assert untagged(M, 'EXPUNGE') == [b'2']
assert ok(M.expunge(), 'EXPUNGE') == [b'1'], 'imaplib returns the EXPUNGE responses'
assert M.select('INBOX')[1] == [b'0']
step('store-copy-move-expunge')

# --- APPEND with flags, date and a literal; APPENDUID; EXAMINE; CLOSE; UNSELECT ---
msg = b'From: alice@lab.test\r\nTo: bob@lab.test\r\nSubject: appended\r\n\r\nAppended body\r\n'
typ, data = M.append('Drafts', '(\\Draft \\Seen)', imaplib.Time2Internaldate(time.mktime((2024, 1, 2, 3, 4, 5, 0, 0, -1))), msg)
assert typ == 'OK' and re.search(rb'\[APPENDUID \d+ 1\]', data[0]), data
# imaplib's select(readonly=True) sends EXAMINE and checks the READ-ONLY response code.
ok(M.select('Drafts', readonly=True), 'EXAMINE')
assert 'READ-ONLY' in M.untagged_responses, M.untagged_responses
r = ok(M.fetch('1', '(FLAGS INTERNALDATE BODY[])'), 'FETCH in EXAMINE')
assert b'\\Draft' in r[0][0] and b'-2024' in r[0][0] and r[0][1] == msg, r
typ, data = M.store('1', '+FLAGS', '(\\Flagged)')
assert typ == 'NO', 'STORE in a read-only mailbox'
typ, data = M._simple_command('UNSELECT')
assert typ == 'OK'
M.state = 'AUTH'
typ, data = M.append('NoSuchFolder', None, None, msg)
assert typ == 'NO' and b'TRYCREATE' in data[0], data
M.select('Drafts')
ok(M.store('1', '+FLAGS', '(\\Deleted)'), 'STORE')
ok(M.close(), 'CLOSE')
assert M.status('Drafts', '(MESSAGES)')[1][0].endswith(b'(MESSAGES 0)')
step('append-examine-close')

# --- two sessions: EXISTS/EXPUNGE/FETCH FLAGS reported; IDLE while SMTP delivers ---
M.select('INBOX')
N = imaplib.IMAP4(host, imap_port)
N.login('alice', 'alice-lab')
N.select('INBOX')
N.untagged_responses.clear()
M.untagged_responses.clear()
tag = M._new_tag().decode()
M.send(f'{tag} IDLE\r\n'.encode())
assert M.readline().startswith(b'+'), 'IDLE continuation'
t0 = time.time()
with smtplib.SMTP(host, smtp_port) as s:
    s.sendmail('carol@lab.test', ['alice@lab.test'], b'From: carol@lab.test\r\nTo: alice@lab.test\r\nSubject: during idle\r\n\r\nhello\r\n')
M.sock.settimeout(10)
line = M.readline()
assert line == b'* 1 EXISTS\r\n', line
assert time.time() - t0 < 10
assert M.readline() == b'* 1 RECENT\r\n'
M.send(b'DONE\r\n')
assert M.readline() == f'{tag} OK IDLE terminated\r\n'.encode()
M.sock.settimeout(None)
ok(N.noop(), 'NOOP other')
assert untagged(N, 'EXISTS') == [b'1'] and untagged(N, 'RECENT') == [b'0'], 'the other session gets EXISTS but not \\Recent'
ok(N.store('1', '+FLAGS', '(\\Seen)'), 'STORE other')
ok(M.noop(), 'NOOP')
assert any(b'\\Seen' in f for f in untagged(M, 'FETCH')), 'flag change from the other session'
ok(N.store('1', '+FLAGS', '(\\Deleted)'), 'STORE')
ok(N.expunge(), 'EXPUNGE other')
# FETCH by sequence number must not report the EXPUNGE; NOOP then does.
M.fetch('1', '(FLAGS)')
assert untagged(M, 'EXPUNGE') == [], 'no EXPUNGE during FETCH'
ok(M.noop(), 'NOOP')
assert untagged(M, 'EXPUNGE') == [b'1']
N.logout()
step('concurrent-idle')

# --- errors keep the session alive ---
for bad in [b'x1 FROB', b'x2 FETCH', b'x3 FETCH 1:* (NOSUCH)', b'x4 SEARCH BEFORE yesterday', b'x5 SELECT']:
    M.send(bad + b'\r\n')
    line = M.readline()
    assert line.startswith(bad.split()[0] + b' BAD'), line
ok(M.noop(), 'NOOP after errors')
M.send(b'x6 APPEND INBOX {999999999}\r\n')
line = M.readline()
assert line.startswith(b'x6 NO [TOOBIG]'), line
ok(M.noop(), 'NOOP after TOOBIG')
step('errors')

M.logout()
print('done')
