// Checks real REST answers against the OpenAPI document labnet serves: the operation and status must
// be documented, the media type too, and a JSON body must validate against the response schema
// (Ajv, JSON Schema 2020-12, which OpenAPI 3.1 schemas are). Records which operations were seen.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';

const addFormats = addFormatsModule as unknown as FormatsPlugin;

interface Operation {
  responses: Record<string, { content?: Record<string, unknown> }>;
}
type Doc = { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };

const METHODS = ['get', 'put', 'post', 'delete'];

function pointer(...parts: string[]): string {
  return parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
}

export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly templates: Array<{ template: string; re: RegExp }>;
  /** "GET /api/v1/messages 200" for every answer checked. */
  readonly seen = new Set<string>();

  constructor(readonly doc: Doc) {
    addFormats(this.ajv);
    this.ajv.addSchema(doc, 'openapi');
    this.templates = Object.keys(doc.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  /** Every documented operation as "GET /api/v1/messages". */
  operations(): string[] {
    const out: string[] = [];
    for (const [path, item] of Object.entries(this.doc.paths)) for (const m of METHODS) if (item[m]) out.push(`${m.toUpperCase()} ${path}`);
    return out;
  }

  /** Problems with one answer ([] when it is what the document says). */
  check(method: string, path: string, status: number, contentType: string | null, body: string): string[] {
    const m = method.toLowerCase();
    const found = this.templates.find((t) => t.re.test(path));
    if (!found) return [`${method} ${path}: no such path in the document`];
    const op = this.doc.paths[found.template][m] as Operation | undefined;
    if (!op) return [`${method} ${found.template}: operation not documented`];
    const key = `${method.toUpperCase()} ${found.template} ${status}`;
    this.seen.add(key);
    const response = op.responses[String(status)];
    if (!response) return [`${key}: status not documented`];
    if (!response.content) return body.length === 0 ? [] : [`${key}: documented without a body, got ${body.length} characters`];
    const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
    const documented = Object.keys(response.content);
    const match = documented.find((d) => d === media) ?? documented.find((d) => d === '*/*');
    if (!match) return [`${key}: media type ${media} not documented (${documented.join(', ')})`];
    if (!/[/+]json$/.test(media)) return [];
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`${key}: body is not JSON`];
    }
    return this.validate(`openapi#/${pointer('paths', found.template, m, 'responses', String(status), 'content', match, 'schema')}`, value, key);
  }

  /** Problems of `value` against a component schema (e.g. a server-sent event's data). */
  checkSchema(name: string, value: unknown): string[] {
    return this.validate(`openapi#/${pointer('components', 'schemas', name)}`, value, name);
  }

  private validate(ref: string, value: unknown, what: string): string[] {
    const validate = this.ajv.getSchema(ref) ?? this.ajv.compile({ $ref: ref });
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${what}: ${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
}
