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

program.parseAsync(process.argv).catch(fail);
