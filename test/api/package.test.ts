// Packaging: `npm pack` ships only what runs (no tests, source maps or build info), the packed tarball
// installs into a fresh project, its types check in a TypeScript consumer, its CLI runs, and the
// README's examples (quick start, ava, node:test), extracted from README.md here so the two cannot
// drift, run there against the installed package.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, projectPath } from '../../core/paths.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The fenced code block that follows `<!-- example: NAME -->` in README.md. */
export function readmeExamples(): Map<string, string> {
  const readme = readFileSync(projectPath('README.md'), 'utf8');
  const out = new Map<string, string>();
  const re = /<!-- example: ([\w.-]+) -->\s*\n```\w*\n([\s\S]*?)\n```/g;
  for (let m = re.exec(readme); m; m = re.exec(readme)) out.set(m[1], `${m[2]}\n`);
  return out;
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: Array<{ path: string; size: number }>;
}

const work = mkdtempSync(join(tmpdir(), 'labnet-pack-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

test('the packed package holds only what runs, installs into a fresh project, and the README examples run there', async (t) => {
  t.timeout(600_000);
  const examples = readmeExamples();
  t.deepEqual([...examples.keys()].sort(), ['ava.test.mjs', 'node-test.test.mjs', 'quickstart.mjs']);

  // --ignore-scripts: pack what the build already made (prepare would rebuild under the running tests).
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], PROJECT_ROOT);
  t.is(pack.code, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as PackResult[];
  const paths = info.files.map((f) => f.path);
  t.log(`packed ${info.size} octets, unpacked ${info.unpackedSize} octets, ${info.entryCount} files`);
  t.deepEqual(
    paths.filter(
      (p) => p.startsWith('build/test/') || p.endsWith('.map') || p.includes('tsbuildinfo') || p.startsWith('test/') || /\.ts$/.test(p.replace(/\.d\.ts$/, '')),
    ),
    [],
  );
  for (const needed of [
    'build/labnet.js',
    'build/app/index.js',
    'build/app/index.d.ts',
    'build/core/mail-api/lab-handle.d.ts',
    'config/labnet.yaml',
    'services/dhcp/native/bind-device/bind_device.c',
    'services/dns/native/udp-batch/udp_batch.c',
    'build/lab-ui/app.js',
    'build/lab-ui/app.css',
  ])
    t.true(paths.includes(needed), needed);
  // The CLI bundle (3.4 MB with the roster, setup pages and packet view; plist, mailparser and
  // playwright-core load lazily from node_modules) and the unbundled modules of the programmatic API
  // (2.2 MB); what must not ship is checked file by file above. This bound catches anything big
  // slipping in (a source map, a test artifact, a second bundle).
  t.true(info.unpackedSize < 6_000_000, `unpacked ${info.unpackedSize} octets`);

  // A fresh project: the tarball plus the clients the examples use, at the versions labnet tests with.
  const project = join(work, 'consumer');
  const dev = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
  const { mkdirSync } = await import('node:fs');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'labnet-consumer', private: true, type: 'module' }, null, 2));
  const install = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, info.filename),
      `nodemailer@${dev.nodemailer}`,
      `imapflow@${dev.imapflow}`,
      `ava@${dev.ava}`,
    ],
    project,
  );
  t.is(install.code, 0, install.stderr.slice(-3000));

  for (const [name, code] of examples) writeFileSync(join(project, name), code);
  const quick = await run('node', ['quickstart.mjs'], project, 60_000);
  t.is(quick.code, 0, quick.stderr);
  t.regex(quick.stdout, /shop@example\.com Your order Thanks for your order\. invoice\.txt/);
  t.regex(quick.stdout, /alice has 1 message\(s\) over IMAP/);
  const ava = await run('npx', ['ava', 'ava.test.mjs'], project, 120_000);
  t.is(ava.code, 0, ava.stdout + ava.stderr);
  t.regex(ava.stdout + ava.stderr, /1 test passed/);
  const nodeTest = await run('node', ['--test', 'node-test.test.mjs'], project, 120_000);
  t.is(nodeTest.code, 0, nodeTest.stdout + nodeTest.stderr);
  t.regex(nodeTest.stdout, /# pass 2/);
  t.regex(nodeTest.stdout, /# fail 0/);

  // The types: a TypeScript consumer compiles, and a wrong use is an error (the types are not `any`).
  writeFileSync(
    join(project, 'consumer.ts'),
    `import { startLabnet, type Labnet, type ParsedMessage, type MessageQuery, WaitForTimeoutError } from 'labnet';
const lab: Labnet = await startLabnet({ defaults: false });
const query: MessageQuery = { to: 'alice@lab.test', subject: /hi/ };
const mails: ParsedMessage[] = await lab.mail.waitFor({ ...query, count: 2, timeoutMs: 1000 });
const size: number = mails[0].attachments[0].content.length + mails[0].attachments[0].size;
const name: string | undefined = mails[0].attachments[0].filename;
const first: string = mails[0].from.value[0].address + lab.caPem + String(lab.ports.smtp);
const user: { name: string; address: string } = lab.users.add('bob', 'pw');
const gone: number = await lab.mail.purge();
// @ts-expect-error subject is a string
const wrong: number = mails[0].subject;
console.log(size, name, first, user, gone, wrong, WaitForTimeoutError);
`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [projectPath('node_modules', '@types')],
      },
      files: ['consumer.ts'],
    }),
  );
  const tsc = await run('node', [projectPath('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project, 120_000);
  t.is(tsc.code, 0, tsc.stdout + tsc.stderr);

  // The CLI from the package's bin.
  const version = await run('npx', ['labnet', '--version'], project, 60_000);
  t.is(version.code, 0, version.stderr);
  t.is(version.stdout.trim(), (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version);
});
