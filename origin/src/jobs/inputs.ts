import type { SourceFormat } from '../ingest/formats.js';
import type { IngestInput } from '../services/ingestion.js';
import type { JobInput } from '../store/jobs.js';

/** How an upload's file is described in `job_inputs.meta`; `text` marks content sent as JSON text. */
export interface JobInputMeta {
  format: SourceFormat;
  text: boolean;
  title?: string | undefined;
  url?: string | undefined;
  fileName?: string | undefined;
  path?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** An ingest input as it is queued: its bytes apart from what describes it. */
export function toJobInput(input: IngestInput): JobInput {
  const { content, ...rest } = input;
  const meta: JobInputMeta = { ...rest, text: typeof content === 'string' };
  return {
    meta: meta as unknown as Record<string, unknown>,
    content: typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
  };
}

/** The ingest input a queued file stands for. */
export function fromJobInput(input: JobInput): IngestInput {
  const { text, ...meta } = input.meta as unknown as JobInputMeta;
  return {
    ...meta,
    content: text ? Buffer.from(input.content).toString('utf8') : input.content,
  };
}
