// What /lab/api/capture and the stream's `flow` items carry: the server's own types
// (core/packet/view-types.ts, types only, no Node), under the names the packet view uses.
export type {
  CaptureStatusView as CaptureStatusData,
  FlowItem,
  FlowSummary,
  FrameSummary as FrameLine,
  PacketField as FieldData,
  PacketLayer as LayerData,
  EncapsulationPart as EncapsulationData,
  TcpSegmentAnalysis as SegmentData,
  FrameDetail as FrameDetailData,
  LadderStep as LadderStepData,
  TcpLadder as LadderData,
  FlowAnswer,
} from '../../packet/view-types.js';
import type { FlowSummary } from '../../packet/view-types.js';

/** A flow as the page keeps it: the summary, and the newest frame number the stream announced. */
export type FlowData = FlowSummary & { lastFrame?: number };
