// How DNS datagrams come in and go out. Two transports with one interface:
//  - 'batch': services/dns/native/udp-batch (Node-API + libuv): recvmmsg/sendmmsg, one call into
//    JavaScript per batch of up to 64 queries, answers written into a shared buffer. Measured with
//    dnsperf against dnsmasq it is what lets labnet keep up (see udp_batch.c and the dns bench).
//  - 'dgram': node:dgram, one 'message' event and one send per datagram. The documented fallback when
//    the addon is not built (or `services.dns.udpTransport: dgram`).
// Either way the handler gets the query octets (valid only during the call), the sender's address and
// port, and returns the answer or undefined.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { Socket } from 'node:dgram';
import { ListenError } from '../../core/errors.js';
import type { NetHost } from '../../core/net-host.js';
import { projectPath } from '../../core/paths.js';
import { bytesToIpv6 } from './addresses.js';

export type DatagramHandler = (query: Buffer, address: string, port: number) => Buffer | undefined;

export interface UdpTransport {
  readonly kind: 'batch' | 'dgram';
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
  stats(): Record<string, number>;
}

interface UdpBatchAddon {
  bind(family: 4 | 6, address: string, port: number): { fd: number; port: number };
  start(
    fd: number,
    inBuf: Buffer,
    inLen: Int32Array,
    addrBuf: Buffer,
    outBuf: Buffer,
    outLen: Int32Array,
    slots: number,
    slotSize: number,
    outSlotSize: number,
    onBatch: (n: number) => void,
  ): object;
  stop(handle: object): void;
  stats(handle: object): Record<string, number>;
}

export const UDP_BATCH_PATH = projectPath('services', 'dns', 'native', 'udp-batch', 'build', 'Release', 'udp_batch.node');

let loaded: { addon?: UdpBatchAddon; why?: string } | undefined;

/** The batch addon, or why it is not there. */
export function loadUdpBatch(): { addon?: UdpBatchAddon; why?: string } {
  if (loaded) return loaded;
  if (!existsSync(UDP_BATCH_PATH)) loaded = { why: `${UDP_BATCH_PATH} is not built (\`node services/dns/native/build-addon.mjs\`)` };
  else {
    try {
      loaded = { addon: createRequire(import.meta.url)(UDP_BATCH_PATH) as UdpBatchAddon };
    } catch (err) {
      loaded = { why: `${UDP_BATCH_PATH} does not load: ${(err as Error).message}` };
    }
  }
  return loaded;
}

/** Queries read per batch, the largest query kept (longer ones are dropped), the largest answer. */
const SLOTS = 64;
const SLOT = 2048;
const OUT_SLOT = 4096;
const ADDR = 20;

export function openBatchTransport(addon: UdpBatchAddon, address: string, port: number, handler: DatagramHandler): UdpTransport {
  let bound: { fd: number; port: number };
  try {
    bound = addon.bind(isIPv6(address) ? 6 : 4, address, port);
  } catch (err) {
    const e = err as Error & { code?: string; errno?: number };
    const cause = Object.assign(new Error(e.message), { code: e.code, errno: e.errno, syscall: 'bind' }) as NodeJS.ErrnoException;
    throw new ListenError('dns', 'dns', address, port, cause);
  }
  const inBuf = Buffer.alloc(SLOTS * SLOT);
  const inLen = new Int32Array(SLOTS);
  const addr = Buffer.alloc(SLOTS * ADDR);
  const outBuf = Buffer.alloc(SLOTS * OUT_SLOT);
  const outLen = new Int32Array(SLOTS);
  const onBatch = (n: number): void => {
    for (let i = 0; i < n; i++) {
      outLen[i] = 0;
      const len = inLen[i];
      if (len < 0) continue;
      const a = i * ADDR;
      const from = addr[a] === 4 || isMapped(addr, a + 4) ? ipv4At(addr, addr[a] === 4 ? a + 4 : a + 16) : bytesToIpv6(addr, a + 4);
      let out: Buffer | undefined;
      try {
        out = handler(inBuf.subarray(i * SLOT, i * SLOT + len), from, (addr[a + 2] << 8) | addr[a + 3]);
      } catch {
        continue; // the handler logs its own failures; a bug costs one query
      }
      if (out && out.length <= OUT_SLOT) {
        out.copy(outBuf, i * OUT_SLOT);
        outLen[i] = out.length;
      }
    }
  };
  const handle = addon.start(bound.fd, inBuf, inLen, addr, outBuf, outLen, SLOTS, SLOT, OUT_SLOT, onBatch);
  return {
    kind: 'batch',
    address,
    port: bound.port,
    close() {
      addon.stop(handle);
      return Promise.resolve();
    },
    stats: () => addon.stats(handle),
  };
}

function isMapped(b: Buffer, at: number): boolean {
  for (let i = 0; i < 10; i++) if (b[at + i] !== 0) return false;
  return b[at + 10] === 0xff && b[at + 11] === 0xff;
}

function ipv4At(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

export async function openDgramTransport(net: NetHost, address: string, port: number, handler: DatagramHandler): Promise<UdpTransport> {
  const socket: Socket = await net.udpSocket({ service: 'dns', label: 'dns', address, port, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
  let sendErrors = 0;
  socket.on('error', () => sendErrors++);
  socket.on('message', (msg: Buffer, rinfo) => {
    const out = handler(msg, rinfo.address, rinfo.port);
    if (out) socket.send(out, rinfo.port, rinfo.address);
  });
  return {
    kind: 'dgram',
    address,
    port: socket.address().port,
    close: () =>
      new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      }),
    stats: () => ({ sendErrors }),
  };
}
