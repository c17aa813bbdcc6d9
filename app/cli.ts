#!/usr/bin/env node
// `labnet` command line: start the lab, and the tools around it.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { LabnetHandle } from '../core/host.js';
import { loadConfig, startLabnet } from './labnet.js';
import { EXIT_CODES, LabnetError, exitCodeFor } from '../core/errors.js';
import { LABNET_VERSION } from '../core/paths.js';
import { LOG_LEVELS } from '../core/logger.js';
import { formatReadyTable } from '../core/ready-table.js';
import { loadOrCreateLabCertificates } from '../core/tls/lab-ca.js';
import { watchLab } from '../core/lab/watch.js';
import { readFileSync } from 'node:fs';
import type { LabnetConfig } from '../core/config.js';
import {
  addRosterUser,
  importRoster,
  MAX_CSV_BYTES,
  parseRosterCsv,
  readRoster,
  removeRosterUser,
  rosterPath,
  setRosterPassword,
  type Credential,
} from '../core/roster/index.js';
import { DEFAULT_CHROMIUM, runningLab, writeHandouts } from '../core/roster/handout.js';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

const program = new Command();
program
  .name('labnet')
  .description('A classroom network lab in one process: DHCP, HTTP(S), SMTP, POP3 and IMAP, every exchange visible.')
  .version(LABNET_VERSION)
  // A wrong option or value is a usage error (exit 2), like a wrong config; --help and --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.config));

/** Prints a LabnetError (one block, no stack trace) and exits with its documented code. */
function fail(err: unknown): never {
  if (err instanceof LabnetError) {
    process.stderr.write(`labnet: ${err.message}\n`);
    process.exit(exitCodeFor(err.code));
  }
  process.stderr.write(`labnet: internal error (a bug; please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_CODES.internal);
}

const EXIT_HELP = `
Exit codes:
  0  stopped by SIGINT or SIGTERM
  1  internal error, or an error while shutting down
  2  wrong command line, config or data directory (nothing started)
  3  ports could not be bound (EACCES: run as root, setcap cap_net_bind_service, or --port-offset;
     EADDRINUSE: another program has the port)
  4  a service refused or failed to start (e.g. DHCP's checks)
"labnet ready" is printed only once every enabled service listens.`;

program
  .command('start')
  .description('start every enabled service and serve until SIGINT or SIGTERM')
  .option('-c, --config <file>', 'YAML config merged over config/labnet.yaml')
  .option('-d, --data-dir <dir>', 'where mail, leases, uploads and certificates live')
  .option('--port-offset <n>', 'add N to every TCP port (e.g. 10000 to run without root)', intArg('--port-offset', 0, 65535), 0)
  .option('--only <services>', 'run only these services, comma separated (e.g. http,smtp)')
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS as unknown as string[]).default('info'))
  .option('--dhcp-interface <if>', 'serve DHCP on this interface (turns DHCP on)')
  .option('--dhcp-force', 'serve DHCP even if another DHCP server answers on the interface')
  .addHelpText('after', EXIT_HELP)
  .action(
    async (opts: { config?: string; dataDir?: string; portOffset: number; only?: string; logLevel: string; dhcpInterface?: string; dhcpForce?: boolean }) => {
      const t0 = performance.now();
      let lab: LabnetHandle;
      const config: Record<string, unknown> = {};
      if (opts.dhcpInterface) config.services = { dhcp: { enabled: true, interface: opts.dhcpInterface } };
      try {
        lab = await startLabnet({
          configFile: opts.config,
          dataDir: opts.dataDir,
          portOffset: opts.portOffset,
          only: opts.only
            ? opts.only
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : undefined,
          logLevel: opts.logLevel as never,
          config,
          flags: { dhcpForce: Boolean(opts.dhcpForce) },
        });
      } catch (err) {
        fail(err);
      }
      const ms = Math.round(performance.now() - t0);
      process.stdout.write(`labnet ready in ${ms} ms (data in ${lab.config.dataDir})\n${formatReadyTable(lab.status())}\n`);
      // Serve until a signal, even when no service holds a socket open (e.g. everything disabled).
      const keepAlive = setInterval(() => {}, 1 << 30);
      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        lab.logger.info(`${signal}: shutting down`);
        lab.stop().then(
          () => {
            clearInterval(keepAlive);
            lab.logger.flush(() => process.exit(0));
          },
          (err: unknown) => {
            process.stderr.write(`labnet: error during shutdown: ${String(err)}\n`);
            process.exit(EXIT_CODES.internal);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    },
  );

const ca = program.command('ca').description('the lab certificate authority');
ca.command('export')
  .description('print the lab CA certificate (PEM) on stdout, making the CA first if it does not exist yet')
  .option('-c, --config <file>', 'YAML config merged over config/labnet.yaml')
  .option('-d, --data-dir <dir>', 'the data directory the CA lives in (dataDir/tls/ca.crt)')
  .action(async (opts: { config?: string; dataDir?: string }) => {
    try {
      const config = loadConfig({ configFile: opts.config, dataDir: opts.dataDir });
      const certs = await loadOrCreateLabCertificates({
        dataDir: config.dataDir,
        hostname: config.hostname,
        domain: config.domain,
        listen: config.listen,
        extraNames: config.tls.extraNames,
        progress: (m) => process.stderr.write(`labnet: ${m}\n`),
      });
      process.stdout.write(certs.ca.certPem);
    } catch (err) {
      fail(err);
    }
  });

program
  .command('watch')
  .description("follow the live lab's transcripts in this terminal (for an instructor on the lab machine, e.g. over SSH)")
  .option('-s, --service <names>', 'only these services, comma separated (smtp,imap,pop3,http,https,dhcp)')
  .option('-u, --user <name>', "only this user's sessions")
  .option('-c, --config <file>', 'the config the lab runs with (to find its data directory)')
  .option('-d, --data-dir <dir>', 'the data directory of the running lab')
  .option('--no-notes', 'leave out the note under each line')
  .option('--no-color', 'no colours (also when stdout is not a terminal)')
  .action(async (opts: { service?: string; user?: string; config?: string; dataDir?: string; notes: boolean; color: boolean }) => {
    let dataDir: string;
    try {
      dataDir = loadConfig({ configFile: opts.config, dataDir: opts.dataDir }).dataDir;
    } catch (err) {
      process.stderr.write(`labnet: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    }
    const controller = new AbortController();
    process.on('SIGINT', () => controller.abort());
    process.on('SIGTERM', () => controller.abort());
    try {
      await watchLab({
        dataDir,
        services: opts.service
          ?.split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean),
        user: opts.user?.trim().toLowerCase(),
        notes: opts.notes,
        color: opts.color && Boolean(process.stdout.isTTY),
        out: process.stdout,
        err: process.stderr,
        signal: controller.signal,
      });
    } catch (err) {
      process.stderr.write(`labnet watch: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    }
  });

// `labnet users`: the class roster (core/roster). Passwords are stored as scrypt hashes in
// <dataDir>/roster.json; a running labnet picks every change up within a second. Clear passwords are
// printed once (and put on the handouts) by the command that sets them.
interface UsersOptions {
  config?: string;
  dataDir?: string;
  handouts?: string;
  pdf: boolean;
  chromium: string;
  url?: string;
  portOffset: number;
}

function usersCommand(name: string, description: string, handouts: boolean) {
  const c = users
    .command(name)
    .description(description)
    .option('-c, --config <file>', 'the config the lab runs with (its dataDir holds roster.json)')
    .option('-d, --data-dir <dir>', 'the data directory of the lab');
  if (handouts)
    c.option('--handouts <dir>', 'write printable handouts (handouts.html and handouts.pdf) for these users into DIR')
      .option('--no-pdf', 'only the HTML handout')
      .option('--chromium <path>', 'Chromium for the PDF', DEFAULT_CHROMIUM)
      .option('--url <origin>', 'where students reach the lab web server (default http://<hostname>[:port])')
      .option(
        '--port-offset <n>',
        'the --port-offset the lab will run with (ports on the handout when no lab runs on this data directory)',
        intArg('--port-offset', 0, 65535),
        0,
      );
  return c;
}

function rosterConfig(opts: UsersOptions): LabnetConfig {
  return loadConfig({ configFile: opts.config, dataDir: opts.dataDir });
}

function printCredentials(config: LabnetConfig, list: readonly Credential[]): void {
  if (list.length === 0) return;
  const w = Math.max(4, ...list.map((c) => c.name.length));
  process.stdout.write(`${'name'.padEnd(w)}  password${' '.repeat(12)}full name\n`);
  for (const c of list) process.stdout.write(`${c.name.padEnd(w)}  ${c.password.padEnd(18)}${c.generated ? '*' : ' '} ${c.fullName}\n`);
  if (list.some((c) => c.generated)) process.stdout.write('* generated: shown only now (stored hashed); give each student theirs, or use --handouts\n');
  const shadowed = list.filter((c) => config.users.some((u) => u.name.toLowerCase() === c.name));
  for (const c of shadowed) process.stderr.write(`labnet: warning: "${c.name}" is also in the config's users; the config's password wins while it is there\n`);
}

async function finish(config: LabnetConfig, opts: UsersOptions, list: readonly Credential[]): Promise<void> {
  printCredentials(config, list);
  if (opts.handouts && list.length > 0) {
    // A lab running on this data directory: the ports it has bound; otherwise the config's plus --port-offset.
    const running = await runningLab(config.dataDir);
    /** The lab's web origin, the port left out where it is the scheme's own. */
    const originOf = (scheme: 'http' | 'https', port: number | undefined): string =>
      `${scheme}://${config.hostname}${port === undefined || port === (scheme === 'http' ? 80 : 443) ? '' : `:${port}`}`;
    let origin: string;
    if (running) {
      const web = running.status.find((x) => x.name === 'http' && x.state === 'running')?.listeners ?? [];
      const plain = web.find((l) => l.name === 'http');
      origin = opts.url ?? (plain ? originOf('http', plain.port) : originOf('https', web.find((l) => l.name === 'https')?.port));
      process.stdout.write(`handouts: the ports of the lab running on ${config.dataDir} (pid ${running.pid})\n`);
      if (opts.portOffset !== 0) process.stderr.write(`labnet: warning: --port-offset ${opts.portOffset} ignored: the running lab's own ports are printed\n`);
    } else {
      const http = (config as unknown as { services?: { http?: { port?: number } } }).services?.http?.port ?? 80;
      origin = opts.url ?? originOf('http', http + opts.portOffset);
      process.stdout.write(
        `handouts: the ports of the config${opts.portOffset !== 0 ? ` plus --port-offset ${opts.portOffset}` : ''} (no lab is running on ${config.dataDir})\n`,
      );
    }
    const out = await writeHandouts(opts.handouts, config, list, {
      origin,
      portOffset: opts.portOffset,
      running: running?.status,
      pdf: opts.pdf,
      chromium: opts.chromium,
    });
    process.stdout.write(`handouts: ${out.html}${out.pdf ? `, ${out.pdf}` : ''} (${list.length} page${list.length === 1 ? '' : 's'})\n`);
  }
}

const users = program.command('users').description('the class roster: accounts with hashed passwords in <dataDir>/roster.json');

usersCommand('import', 'add the students of a CSV file (name, full name, optional password; missing passwords are generated)', true)
  .argument('<file>', 'roster CSV (a header row "name,full name,password" is optional)')
  .option('--reset', 'give students already on the roster a new password too (else they keep theirs)')
  .action(async (file: string, opts: UsersOptions & { reset?: boolean }) => {
    try {
      const config = rosterConfig(opts);
      let data: Buffer;
      try {
        data = readFileSync(file);
      } catch (err) {
        throw new LabnetError('CONFIG_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`);
      }
      if (data.length > MAX_CSV_BYTES) throw new LabnetError('USER_INVALID', `${file} is larger than ${MAX_CSV_BYTES} octets`);
      const parsed = parseRosterCsv(data);
      if (parsed.errors.length > 0) {
        for (const e of parsed.errors.slice(0, 50)) process.stderr.write(`${file}:${e.line}: ${e.message}\n`);
        if (parsed.errors.length > 50) process.stderr.write(`... and ${parsed.errors.length - 50} more\n`);
        throw new LabnetError('USER_INVALID', `${parsed.errors.length} bad row${parsed.errors.length === 1 ? '' : 's'} in ${file}: nothing imported`);
      }
      const r = await importRoster(config.dataDir, parsed.rows, { reset: opts.reset });
      process.stdout.write(`imported into ${rosterPath(config.dataDir)}: ${r.added.length} added, ${r.updated.length} new passwords, ${r.kept.length} kept\n`);
      await finish(config, opts, [...r.added, ...r.updated]);
    } catch (err) {
      fail(err);
    }
  });

usersCommand('list', 'list the roster (and the config users)', false).action((opts: UsersOptions) => {
  try {
    const config = rosterConfig(opts);
    const roster = readRoster(config.dataDir);
    for (const u of roster) process.stdout.write(`${u.name}@${config.domain}\t${u.fullName}\troster (hashed)\n`);
    for (const u of config.users) process.stdout.write(`${u.name.toLowerCase()}@${config.domain}\t\tconfig\n`);
  } catch (err) {
    fail(err);
  }
});

usersCommand('add', 'add one student (a password is generated unless --password is given)', true)
  .argument('<name>')
  .option('--full-name <name>', 'the full name on the handout', '')
  .option('--password <password>', 'the password (better: let labnet generate one)')
  .action(async (name: string, opts: UsersOptions & { fullName: string; password?: string }) => {
    try {
      const config = rosterConfig(opts);
      await finish(config, opts, [await addRosterUser(config.dataDir, name, opts.fullName, opts.password)]);
    } catch (err) {
      fail(err);
    }
  });

usersCommand('remove', 'remove a student from the roster (their mail stays)', false)
  .argument('<name>')
  .action(async (name: string, opts: UsersOptions) => {
    try {
      const config = rosterConfig(opts);
      await removeRosterUser(config.dataDir, name);
      process.stdout.write(`removed ${name.toLowerCase()}\n`);
    } catch (err) {
      fail(err);
    }
  });

usersCommand('passwd', 'give a student a new password (generated unless --password is given)', true)
  .argument('<name>')
  .option('--password <password>', 'the new password')
  .action(async (name: string, opts: UsersOptions & { password?: string }) => {
    try {
      const config = rosterConfig(opts);
      await finish(config, opts, [await setRosterPassword(config.dataDir, name, opts.password)]);
    } catch (err) {
      fail(err);
    }
  });

program.parseAsync(process.argv).catch(fail);
