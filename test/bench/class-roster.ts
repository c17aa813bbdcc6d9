// The class the soak benches (soak.bench.ts, soak-login.bench.ts) log in as: student i is s001, s002...
// with a password made from the name, and connects from their own loopback address (127.0.1.x, 250
// per /24), so per-address limits and throttles see a room of machines, not one.
export const studentName = (i: number): string => `s${String(i + 1).padStart(3, '0')}`;
export const studentPassword = (i: number): string => `pw-${studentName(i)}-lab`;
export const studentAddress = (i: number): string => `127.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`;
