// What /lab/api/capture and the stream's `flow` items carry (core/packet/views.ts and packet-routes.ts
// on the server): the shapes the packet view reads, written again here because the browser bundle
// compiles without the Node side.

export interface CaptureStatusData {
  enabled: boolean;
  state: string;
  interface: string;
  tool?: string;
  frames?: number;
  kept?: number;
  error?: string;
}

export interface FlowData {
  id: string;
  kind: 'tcp' | 'udp' | 'dhcp' | 'arp' | 'icmp' | 'other';
  client: { address: string; port?: number; mac?: string };
  server: { address: string; port?: number; mac?: string };
  service?: string;
  session?: string;
  tls: boolean;
  title: string;
  state?: string;
  firstTime: number;
  lastTime: number;
  frames: number;
  bytes: number;
  kept: number;
  missed: number;
  xids?: string[];
  arp?: { address: string; resolvedTo?: string };
  /** Stream items only: the newest frame number. */
  lastFrame?: number;
}

export interface FrameLine {
  id: number;
  time: number;
  length: number;
  captured: number;
  flow?: string;
  session?: string;
  service?: string;
  from?: 'client' | 'server';
  source: string;
  destination: string;
  protocol: string;
  info: string;
  marks?: string[];
}

export interface FieldData {
  id: string;
  name: string;
  offset: number;
  length: number;
  mask?: number;
  raw: number | string;
  value: number | string | boolean;
  text: string;
  bits?: string;
  note?: string;
  check?: { status: string; text: string };
  children?: FieldData[];
}

export interface LayerData {
  id: string;
  name: string;
  offset: number;
  length: number;
  summary: string;
  note?: string;
  fields: FieldData[];
  problems: string[];
  quoted?: boolean;
}

export interface EncapsulationData {
  name: string;
  layer: string;
  offset: number;
  length: number;
  captured: number;
  depth: number;
  note?: string;
}

export interface SegmentData {
  from: 'client' | 'server';
  relSeq: number;
  relAck: number;
  nextRelSeq: number;
  seq: number;
  ack: number;
  dataLength: number;
  flags: string[];
  window: number;
  windowBytes: number;
  windowScaled: boolean;
  marks: string[];
  phase: 'handshake' | 'data' | 'close' | 'reset';
  label: string;
  explanation: string;
}

export interface FrameDetailData {
  id: number;
  time: number;
  capturedLength: number;
  originalLength: number;
  truncated: boolean;
  layers: LayerData[];
  encapsulation: EncapsulationData[];
  summary: string;
  protocol: string;
  source: string;
  destination: string;
  problems: string[];
  hex: string;
  flow?: string;
  session?: string;
  service?: string;
  tcp?: SegmentData;
}

export interface LadderStepData extends SegmentData {
  frame: number;
  t: number;
}

export interface LadderData {
  flow: string;
  session?: string;
  service?: string;
  client: { address: string; port: number };
  server: { address: string; port: number };
  state: string;
  handshakeRttMs?: number;
  windowScaling: boolean;
  counts: { segments: number; retransmissions: number; outOfOrder: number; lost: number; duplicateAcks: number };
  steps: LadderStepData[];
  missing: number;
}

export interface FlowAnswer {
  flow: FlowData;
  frames: FrameLine[];
  ladder?: LadderData;
}
