// The shapes the packet view hands out (the /lab/api/capture answers and the stream's flow items),
// in one types-only module that both sides import: the server's decoders and views, and the browser
// bundle (core/lab/ui, compiled without Node's types: nothing here may import a Node module or a
// module that does).

/** A checksum, verified: where the capture shows it left to the network card, it says so. */
export interface ChecksumCheck {
  status: 'good' | 'bad' | 'offloaded' | 'none' | 'unverified';
  /** The checksum the field should hold (when it could be computed). */
  computed?: number;
  text: string;
}

/** One decoded field, positioned in the frame: what the view lists and the hex pane highlights. */
export interface PacketField {
  id: string;
  name: string;
  /** Offset in the frame (not in the header). */
  offset: number;
  length: number;
  mask?: number;
  /** The raw bits read (after the mask and its shift); hex digits for addresses and byte strings. */
  raw: number | string;
  /** The value: raw x scale for counts, the address for addresses, true/false for one-bit flags. */
  value: number | string | boolean;
  /** How the view shows it: "IPv4 (0x0800)", "20 bytes (5 x 4)", "Set: do not fragment". */
  text: string;
  /** A bit field's bits the way Wireshark's detail pane draws them: ".1.. ....". */
  bits?: string;
  note?: string;
  check?: ChecksumCheck;
  children?: PacketField[];
}

export type FieldFormat = 'dec' | 'hex' | 'flag' | 'mac' | 'ipv4' | 'ipv6' | 'bytes';

export interface PacketLayer {
  /** Wireshark's protocol name: 'eth', 'vlan', 'arp', 'ip', 'ipv6', 'icmp', 'icmpv6', 'udp', 'tcp', 'data'. */
  id: string;
  /** 'Ethernet II', 'IPv4', 'TCP', ... */
  name: string;
  /** Where the header starts in the frame and how many of its bytes were captured. */
  offset: number;
  length: number;
  /** One line: "10.0.0.2 -> 10.0.0.1, TTL 64, TCP". */
  summary: string;
  /** The course's words on this header as a whole. */
  note?: string;
  fields: PacketField[];
  /** Problems seen: cut short by the capture, a length that does not add up, a wrong checksum. */
  problems: string[];
  /** A header quoted inside an ICMP error (the datagram the error is about), not this frame's own. */
  quoted?: boolean;
}

/** One box of the encapsulation drawing: a header, the payload, padding or the (never captured) CRC. */
export interface EncapsulationPart {
  /** 'Ethernet header', 'IPv4 header', 'TCP header', 'HTTP data', 'Ethernet padding', 'Frame check sequence'. */
  name: string;
  /** The layer it belongs to ('eth', 'ip', 'tcp', 'data'...). */
  layer: string;
  offset: number;
  /** Bytes on the wire. */
  length: number;
  /** Bytes of it in the capture (less when cut short; 0 for the CRC). */
  captured: number;
  /** Nesting depth: 0 the frame's own headers; inside an ICMP error's quote, 1. */
  depth: number;
  note?: string;
}

export interface DecodedFrame {
  linkType: number;
  capturedLength: number;
  originalLength: number;
  /** Fewer bytes captured than were on the wire (the capture's snap length). */
  truncated: boolean;
  layers: PacketLayer[];
  encapsulation: EncapsulationPart[];
  /** One line, Wireshark's Info column: "Who has 10.0.0.1? Tell 10.0.0.2". */
  summary: string;
  /** The innermost protocol named ('TCP', 'HTTP', 'ARP'...). */
  protocol: string;
  source: string;
  destination: string;
  /** Every layer's problems, in order. */
  problems: string[];
}

export type SegmentMark = 'retransmission' | 'out-of-order' | 'previous-segment-not-captured' | 'duplicate-ack' | 'zero-window' | 'keep-alive';

export type SegmentPhase = 'handshake' | 'data' | 'close' | 'reset';

export type TcpState = 'handshake' | 'established' | 'closing' | 'closed' | 'reset';

/** What the analysis says about one segment: the ladder's step. */
export interface TcpSegmentAnalysis {
  /** Who sent it. */
  from: 'client' | 'server';
  /** Relative to the sender's initial sequence number (0 for the SYN). */
  relSeq: number;
  /** Relative to the receiver's initial sequence number; 0 when the ACK flag is off. */
  relAck: number;
  /** The relative sequence number of the sender's next byte after this segment. */
  nextRelSeq: number;
  seq: number;
  ack: number;
  dataLength: number;
  flags: string[];
  /** The window field as sent, and in bytes (scaled) when both SYNs agreed on a scale. */
  window: number;
  windowBytes: number;
  windowScaled: boolean;
  marks: SegmentMark[];
  phase: SegmentPhase;
  /** One line in the ladder: "SYN seq=0", "PSH, ACK seq=1 ack=1 len=79". */
  label: string;
  /** What this step means, in the course's words. */
  explanation: string;
}

export type FlowKind = 'tcp' | 'udp' | 'dhcp' | 'arp' | 'icmp' | 'ip' | 'other';

export interface FlowEnd {
  address: string;
  port?: number;
  mac?: string;
}

export interface FlowSummary {
  /** 'f17': ask `flow`, `ladder`, `frames({ flow })` or `pcapng({ flows })` with it. */
  id: string;
  kind: FlowKind;
  /** Who started it (the SYN sender, the DHCP client, the ARP asker, the pinger) and who answered. */
  client: { address: string; port?: number; mac?: string };
  server: { address: string; port?: number; mac?: string };
  /** The labnet service behind the server port ('smtp', 'http', 'dhcp'). */
  service?: string;
  /** The labnet session it belongs to, once linked (session.open matched on its four-tuple). */
  session?: string;
  /** A TLS ClientHello was seen: the pcapng export embeds its keys. */
  tls: boolean;
  /** "TCP 10.0.0.5:51234 -> 10.0.0.1:25 (smtp)", "ARP: who has 10.0.0.1?", "DHCP client aa:bb:...". */
  title: string;
  state?: TcpState;
  /** Milliseconds since the epoch. */
  firstTime: number;
  lastTime: number;
  /** Frames and wire bytes seen; frames still kept; frames not kept (over the budget, or evicted). */
  frames: number;
  bytes: number;
  kept: number;
  missed: number;
  /**
   * TCP: bytes of each direction's stream the capture never saw (gaps no late or retransmitted segment
   * filled: frames the capture lost, or left out while thinned), at least this many. Not zero: tshark
   * cannot follow that direction past the gap, and TLS after it does not decrypt.
   */
  notCaptured?: { client: number; server: number };
  /** DHCP: transaction ids (hex) seen for this client. */
  xids?: string[];
  /** ARP: the address asked about and the MAC address it resolved to. */
  arp?: { address: string; resolvedTo?: string };
}

export interface FrameSummary {
  /** Frame number: ask `frame(id)` for its layers. */
  id: number;
  /** Milliseconds since the epoch (microsecond precision). */
  time: number;
  /** Bytes on the wire, and bytes captured. */
  length: number;
  captured: number;
  flow?: string;
  session?: string;
  service?: string;
  /** Sent by the flow's client or its server. */
  from?: 'client' | 'server';
  source: string;
  destination: string;
  protocol: string;
  /** One line, Wireshark's Info column. */
  info: string;
  marks?: SegmentMark[];
}

/** One frame in full: every layer's fields with offsets, bits and notes, the encapsulation, the bytes. */
export interface FrameDetail extends DecodedFrame {
  id: number;
  time: number;
  /** The captured bytes as hex (two digits per byte), for the byte pane. */
  hex: string;
  flow?: string;
  session?: string;
  service?: string;
  /** The TCP analysis of this segment: relative numbers, marks, phase, its ladder label. */
  tcp?: TcpSegmentAnalysis;
}

export interface LadderStep extends TcpSegmentAnalysis {
  frame: number;
  /** Milliseconds since the flow's first frame. */
  t: number;
}

export interface TcpLadder {
  flow: string;
  session?: string;
  service?: string;
  client: { address: string; port: number };
  server: { address: string; port: number };
  state: TcpState;
  /** The handshake's round trip (SYN to the third step), milliseconds. */
  handshakeRttMs?: number;
  windowScaling: boolean;
  counts: { segments: number; retransmissions: number; outOfOrder: number; lost: number; duplicateAcks: number };
  /** Segments kept, in capture order. */
  steps: LadderStep[];
  /** Segments of the connection not kept (over the capture budget, or evicted): the ladder has gaps. */
  missing: number;
}

/** The stream item `flow`: a flow that changed (the page refetches its frames when it shows it). */
export interface FlowItem extends FlowSummary {
  /** The newest frame number of the flow seen so far. */
  lastFrame: number;
}

export type CaptureToolName = 'dumpcap' | 'tcpdump';

export interface CaptureStatus {
  enabled: boolean;
  /** 'off' (not enabled), 'starting', 'capturing', 'thinned' (over the budget), 'restarting', 'failed', 'stopped'. */
  state: 'off' | 'starting' | 'capturing' | 'thinned' | 'restarting' | 'failed' | 'stopped';
  tool: CaptureToolName;
  interface: string;
  filter: string;
  linkType: number;
  /** Frames captured, kept now, not kept because of the budget, dropped by the kernel or the tool. */
  frames: number;
  kept: number;
  skipped: number;
  dropped: number;
  bytes: number;
  flows: number;
  restarts: number;
  /** The capture tool's process id while it runs. */
  pid?: number;
  /** Why the capture is not running (when failed or restarting). */
  error?: string;
  /** The error code when not permitted, no tool, no interface... */
  errorCode?: string;
}

/** GET /lab/api/capture/flows/ID: the flow, its frames (after `since`), its TCP ladder. */
export interface FlowAnswer {
  flow: FlowSummary;
  frames: FrameSummary[];
  ladder?: TcpLadder;
}

/** The capture's status as a viewer gets it: students only the first three fields. */
export type CaptureStatusView = Pick<CaptureStatus, 'enabled' | 'state' | 'interface'> & Partial<CaptureStatus>;
