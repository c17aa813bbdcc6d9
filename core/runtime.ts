// Options given on the command line (or to startLabnet) that are not part of the config file.
export interface RuntimeOptions {
  /** Added to every non-zero TCP port. */
  portOffset: number;
  /** Grace period for busy sessions at shutdown. */
  shutdownGraceMs: number;
  /** Extra per-service runtime switches (e.g. dhcp: { force: true }). */
  flags: Record<string, unknown>;
}
