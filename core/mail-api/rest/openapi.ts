// The OpenAPI 3.1 document served at /api/v1/openapi.json. It describes what api-routes.ts answers;
// test/api/openapi.test.ts validates real answers of every operation against these schemas (and the
// document against the OpenAPI 3.1 schema), so the two cannot drift apart unnoticed.
import { LABNET_VERSION } from '../../paths.js';
import { FAULT_LIMITS } from '../../faults/rules.js';
import { MAIL_API_LIMITS } from '../limits.js';

const str = { type: 'string' } as const;
const int = { type: 'integer', minimum: 0 } as const;
const nullableString = { type: ['string', 'null'] } as const;
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)): Record<string, unknown> => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const json = (schema: unknown, description: string): Record<string, unknown> => ({ description, content: { 'application/json': { schema } } });
const problem = (description: string): Record<string, unknown> => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });

const commonErrors = {
  '401': problem('No or wrong credentials: send `Authorization: Bearer <api.token>` or an instructor login with HTTP Basic'),
  '404': problem('No such message, user or route, or the API is off (no api.token and no instructors configured)'),
};

const bodyErrors = {
  '413': problem(`The body is larger than ${MAIL_API_LIMITS.maxJsonBodyBytes} octets`),
  '415': problem('The body is not application/json'),
};

const q = (name: string, description: string, schema: unknown = str): Record<string, unknown> => ({ name, in: 'query', required: false, description, schema });
const p = (name: string, description: string, schema: unknown = str): Record<string, unknown> => ({ name, in: 'path', required: true, description, schema });

const searchParams = [
  q('user', 'A mailbox: `alice` or `alice@<domain>`. Every mailbox when absent.'),
  q('folder', 'A folder (default INBOX); `*` for every folder.'),
  q('to', "A recipient: a lab address gives that mailbox's messages; another domain's address, the messages captured for it."),
  q('from', 'Case-insensitive substring of the From field (name or address).'),
  q('subject', 'Case-insensitive substring of the decoded Subject.'),
  q('text', 'Case-insensitive substring of the plain-text body.'),
  q('since', 'Only messages that arrived at or after this time: ISO 8601, or milliseconds since the epoch.'),
];

const messagePathParams = [
  p('user', 'The mailbox (`alice`).'),
  p('folder', 'The folder (`INBOX`, `Sent`; percent-encoded).'),
  p('uid', 'The IMAP UID in that folder.', { type: 'integer', minimum: 1 }),
];

/** The rule's fields (core/faults/rules.ts says the same in zod). */
function faultRuleProperties(): Record<string, unknown> {
  const pattern = { ...str, minLength: 1, maxLength: FAULT_LIMITS.maxPattern };
  const line = { ...str, minLength: 1, maxLength: FAULT_LIMITS.maxReplyLine };
  return {
    id: { ...str, pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'Chosen id (default f1, f2...)' },
    service: { enum: ['smtp', 'pop3', 'imap'], description: 'Only this service (default any)' },
    at: {
      ...str,
      maxLength: 40,
      description:
        "'greeting', 'end-of-data' (SMTP, before delivery) or a command name: MAIL, RCPT, DATA, AUTH, RETR, LOGIN, FETCH, 'UID FETCH'... (default every step)",
    },
    user: { ...pattern, description: 'The logged-in user (or the name given to IMAP LOGIN / POP3 USER)' },
    sender: { ...pattern, description: 'SMTP: the MAIL FROM address' },
    recipient: { ...pattern, description: "SMTP: the RCPT TO address; at DATA and end-of-data any of the transaction's" },
    client: { ...pattern, description: "The client's IP address" },
    reply: {
      oneOf: [line, { type: 'array', items: line, minItems: 1, maxItems: FAULT_LIMITS.maxReplyLines }],
      description: "Answer this instead of running the step (IMAP: the command's tag goes before the last line; `{tag}` places it)",
    },
    delayMs: { ...int, maximum: FAULT_LIMITS.maxDelayMs, description: 'Wait first (at most faults.maxDelayMs)' },
    close: { type: 'boolean', description: 'Close the connection (after the reply, if any) instead of running the step' },
    closeAfterBytes: { ...int, description: 'Run the step but drop the connection once this many more octets were sent' },
    after: { ...int, description: 'Let this many matching steps pass first (default 0)' },
    times: { type: 'integer', minimum: 1, description: 'Act at most this many times (default always)' },
    probability: { type: 'number', minimum: 0, maximum: 1, description: 'Act on this fraction of matching steps (default 1)' },
    seed: { ...int, maximum: 4294967295, description: 'Seed of the generator of the rule (default 1)' },
  };
}

const schemas = {
  Address: obj({ name: { ...str, description: "Display name, decoded ('' when none)" }, address: str }),
  AddressList: obj({
    value: { type: 'array', items: ref('Address'), description: 'Every mailbox of the field (group members flattened)' },
    text: { ...str, description: 'The field decoded to one line' },
  }),
  MessageLinks: obj({ self: str, raw: str }),
  MessageSummary: obj({
    id: { ...str, description: 'user/folder/uid, e.g. alice/INBOX/3' },
    user: str,
    folder: str,
    uid: { type: 'integer', minimum: 1 },
    from: ref('AddressList'),
    to: ref('AddressList'),
    cc: ref('AddressList'),
    subject: str,
    date: { ...nullableString, format: 'date-time', description: 'The Date field (null when absent)' },
    messageId: nullableString,
    size: { ...int, description: 'Octets as stored' },
    receivedAt: { ...str, format: 'date-time' },
    flags: { type: 'array', items: str },
    links: ref('MessageLinks'),
  }),
  MessageList: obj({
    total: { ...int, description: 'Matching messages before paging' },
    offset: int,
    count: { ...int, description: 'Messages in this page' },
    messages: { type: 'array', items: ref('MessageSummary') },
  }),
  Attachment: obj({
    index: int,
    filename: nullableString,
    contentType: str,
    size: int,
    disposition: { enum: ['attachment', 'inline'] },
    contentId: nullableString,
    links: obj({ content: str }),
  }),
  HeaderLine: obj({ name: str, value: { ...str, description: 'Raw value, unfolded, not decoded' } }),
  Message: obj({
    id: str,
    user: str,
    folder: str,
    uid: { type: 'integer', minimum: 1 },
    from: ref('AddressList'),
    to: ref('AddressList'),
    cc: ref('AddressList'),
    bcc: ref('AddressList'),
    replyTo: ref('AddressList'),
    subject: str,
    date: { ...nullableString, format: 'date-time' },
    messageId: nullableString,
    text: { ...str, description: "Plain-text body ('' when none)" },
    html: { ...nullableString, description: 'HTML body (null when none)' },
    attachments: { type: 'array', items: ref('Attachment') },
    headers: { type: 'array', items: ref('HeaderLine') },
    size: int,
    receivedAt: { ...str, format: 'date-time' },
    flags: { type: 'array', items: str },
    links: ref('MessageLinks'),
  }),
  Deleted: obj({ deleted: { ...int, description: 'Messages removed' } }),
  User: obj({ name: str, address: str }),
  FolderStatus: obj({ name: str, messages: int, unseen: int, size: int }),
  UserDetail: obj({
    name: str,
    address: str,
    account: { type: 'boolean', description: 'A lab account (false: only a mailbox, e.g. auto-created on delivery)' },
    folders: { type: 'array', items: ref('FolderStatus') },
  }),
  UserList: obj({
    users: { type: 'array', items: ref('User') },
    mailboxes: { type: 'array', items: str, description: 'Every mailbox on disk, accounts or not' },
    testMode: { type: 'boolean', description: 'testMode: every login accepted, mailboxes made on first use' },
  }),
  NewUser: obj({ name: { ...str, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 64 }, password: { ...str, minLength: 1, maxLength: 256 } }),
  Password: obj({ password: { ...str, minLength: 1, maxLength: 256 } }),
  FaultRuleInput: {
    type: 'object',
    description: 'A fault rule: matchers (all optional), at least one action, and how often it acts. Patterns are case-insensitive, `*` matches anything.',
    properties: faultRuleProperties(),
    additionalProperties: false,
    anyOf: [{ required: ['reply'] }, { required: ['delayMs'] }, { required: ['close'] }, { required: ['closeAfterBytes'] }],
  },
  FaultRule: {
    type: 'object',
    properties: {
      ...faultRuleProperties(),
      matched: { ...int, description: 'Matching steps seen' },
      applied: { ...int, description: 'Times the rule acted' },
    },
    required: ['id', 'after', 'probability', 'seed', 'matched', 'applied'],
    additionalProperties: false,
  },
  FaultRuleList: obj({
    rules: { type: 'array', items: ref('FaultRule'), description: 'In the order they are checked; the first that acts wins' },
    maxRules: { ...int, description: 'faults.maxRules' },
    maxDelayMs: { ...int, description: 'faults.maxDelayMs' },
  }),
  Problem: obj({
    title: str,
    status: { type: 'integer' },
    code: { ...str, description: 'Stable error code (NO_SUCH_MESSAGE, UNAUTHORIZED, API_OFF, ...)' },
    detail: str,
  }),
};

const document = {
  openapi: '3.1.0',
  info: {
    title: 'labnet REST API',
    version: LABNET_VERSION,
    description:
      'Read back the mail labnet received, wait for deliveries, manage lab users: for test suites in any language and CI containers. ' +
      'Every call needs `Authorization: Bearer <api.token>` or an instructor login (HTTP Basic).',
  },
  servers: [{ url: '/' }],
  security: [{ bearerAuth: [] }, { basicAuth: [] }],
  paths: {
    '/api/v1/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document (no credentials needed while the API is on)',
        security: [],
        responses: { '200': json({ type: 'object' }, 'The OpenAPI document'), '404': commonErrors['404'] },
      },
    },
    '/api/v1/messages': {
      get: {
        operationId: 'listMessages',
        summary: 'List and search messages (summaries, in arrival order)',
        parameters: [
          ...searchParams,
          q('limit', `Messages per page (default ${MAIL_API_LIMITS.defaultPageSize})`, { type: 'integer', minimum: 1, maximum: MAIL_API_LIMITS.maxPageSize }),
          q('offset', 'Messages to skip', { type: 'integer', minimum: 0 }),
        ],
        responses: { '200': json(ref('MessageList'), 'The matching messages'), '400': problem('A bad query parameter'), ...commonErrors },
      },
      delete: {
        operationId: 'deleteMessages',
        summary: 'Delete every message of one mailbox (user) or of all mailboxes',
        parameters: [q('user', 'The mailbox; every mailbox when absent')],
        responses: { '200': json(ref('Deleted'), 'How many messages were removed'), '400': problem('A bad query parameter'), ...commonErrors },
      },
    },
    '/api/v1/messages/{user}/{folder}/{uid}': {
      parameters: messagePathParams,
      get: {
        operationId: 'getMessage',
        summary: 'One message, parsed (text, HTML, attachments listed with links, every header)',
        responses: { '200': json(ref('Message'), 'The message'), ...commonErrors },
      },
      delete: {
        operationId: 'deleteMessage',
        summary: 'Delete one message (IMAP clients see it expunged)',
        responses: { '204': { description: 'Deleted' }, ...commonErrors },
      },
    },
    '/api/v1/messages/{user}/{folder}/{uid}/raw': {
      parameters: messagePathParams,
      get: {
        operationId: 'getMessageRaw',
        summary: 'The message exactly as stored (CRLF line endings)',
        responses: { '200': { description: 'The source', content: { 'message/rfc822': { schema: { type: 'string' } } } }, ...commonErrors },
      },
    },
    '/api/v1/messages/{user}/{folder}/{uid}/attachments/{index}': {
      parameters: [...messagePathParams, p('index', 'The attachment number, from 0', { type: 'integer', minimum: 0 })],
      get: {
        operationId: 'getAttachment',
        summary: 'One attachment, decoded, with its own Content-Type (always as a download)',
        responses: {
          '200': { description: 'The attachment', content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
          ...commonErrors,
        },
      },
    },
    '/api/v1/users': {
      get: {
        operationId: 'listUsers',
        summary: 'The lab accounts and every mailbox',
        responses: { '200': json(ref('UserList'), 'Accounts and mailboxes'), ...commonErrors },
      },
      post: {
        operationId: 'addUser',
        summary: 'Add an account (effective for SMTP, POP3 and IMAP logins at once)',
        requestBody: { required: true, content: { 'application/json': { schema: ref('NewUser') } } },
        responses: {
          '201': json(ref('User'), 'Added'),
          '400': problem('A bad name or password, or not JSON'),
          '409': problem('The user exists already'),
          ...bodyErrors,
          ...commonErrors,
        },
      },
    },
    '/api/v1/users/{name}': {
      parameters: [p('name', 'The user (`alice` or `alice@<domain>`)')],
      get: {
        operationId: 'getUser',
        summary: 'An account or mailbox with its folders',
        responses: { '200': json(ref('UserDetail'), 'The user'), ...commonErrors },
      },
      put: {
        operationId: 'putUser',
        summary: "Set a user's password, adding the account if there is none",
        requestBody: { required: true, content: { 'application/json': { schema: ref('Password') } } },
        responses: {
          '200': json(ref('User'), 'Password changed'),
          '201': json(ref('User'), 'Account added'),
          '400': problem('A bad name or password, or not JSON'),
          ...bodyErrors,
          ...commonErrors,
        },
      },
      delete: {
        operationId: 'deleteUser',
        summary: 'Remove an account (its mail stays; sessions already logged in go on)',
        responses: { '204': { description: 'Removed' }, ...commonErrors },
      },
    },
    '/api/v1/faults': {
      get: {
        operationId: 'listFaults',
        summary: 'The fault rules the SMTP, POP3 and IMAP sessions answer from, with their counters',
        responses: { '200': json(ref('FaultRuleList'), 'The rules'), ...commonErrors },
      },
      post: {
        operationId: 'addFault',
        summary: 'Add a fault rule (sessions see it at their next step)',
        requestBody: { required: true, content: { 'application/json': { schema: ref('FaultRuleInput') } } },
        responses: {
          '201': json(ref('FaultRule'), 'Added, with its id'),
          '400': problem('The rule does not check (code FAULT_INVALID), or not JSON'),
          '409': problem('The id is taken (FAULT_EXISTS) or there are faults.maxRules rules (FAULT_LIMIT)'),
          ...bodyErrors,
          ...commonErrors,
        },
      },
      delete: {
        operationId: 'deleteFaults',
        summary: 'Remove every fault rule',
        responses: { '200': json(ref('Deleted'), 'How many rules were removed'), ...commonErrors },
      },
    },
    '/api/v1/faults/{id}': {
      parameters: [p('id', 'The rule id (f1, or the one given)')],
      get: {
        operationId: 'getFault',
        summary: 'One fault rule with its counters',
        responses: { '200': json(ref('FaultRule'), 'The rule'), ...commonErrors },
      },
      delete: {
        operationId: 'deleteFault',
        summary: 'Remove one fault rule',
        responses: { '204': { description: 'Removed' }, ...commonErrors },
      },
    },
    '/api/v1/deliveries': {
      get: {
        operationId: 'streamDeliveries',
        summary: 'Server-sent events: one `message` event per delivered message, its data a MessageSummary as JSON',
        parameters: searchParams.filter((x) => ['user', 'folder', 'to', 'from', 'subject'].includes(x.name as string)),
        responses: {
          '200': {
            description: 'An endless text/event-stream; each `data:` line is a MessageSummary (see components)',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '400': problem('A bad query parameter'),
          '503': problem('Too many streams open'),
          ...commonErrors,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', description: 'The config key api.token' },
      basicAuth: { type: 'http', scheme: 'basic', description: 'A lab login named in the config key instructors' },
    },
    schemas,
  },
};

const text = JSON.stringify(document);

/** A fresh copy of the document. */
export function openApiDocument(): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}
