// The client every line protocol must survive: it pipelines many thousands of commands over real TCP
// and never reads a reply. The server may only buffer what the kernel's socket buffers hold plus one
// batch; then its loop must stop reading commands until the client reads (RFC 2920 section 3.1,
// RFC 2449 section 6.6 and RFC 3501 section 5.5 allow pipelining, not unbounded buffering).
import { connect, type Socket } from 'node:net';

export interface FloodResult {
  /** The server's output counter when it stopped growing (or passed the limit). */
  bytesOut: number;
  /** The counter did not stop growing before the limit or the deadline. */
  unbounded: boolean;
}

/** Connects without ever reading (the kernel's receive window closes once its buffer is full). */
export function silentClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.pause();
    s.on('error', () => {});
    s.once('error', reject);
  });
}

/**
 * Writes `commands` on `socket` (which must not be read), then watches `bytesOut` (what the server
 * handed to its socket) until it has not changed for `quietMs`, or passed `limit`, or 30 s went by.
 */
export async function floodWithoutReading(socket: Socket, commands: Buffer, bytesOut: () => number, limit: number, quietMs = 1_000): Promise<FloodResult> {
  socket.pause();
  socket.write(commands);
  const deadline = Date.now() + 30_000;
  let last = bytesOut();
  let lastChange = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = bytesOut();
    if (now > limit) return { bytesOut: now, unbounded: true };
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange >= quietMs) {
      return { bytesOut: now, unbounded: false };
    }
    if (Date.now() > deadline) return { bytesOut: now, unbounded: true };
  }
}
