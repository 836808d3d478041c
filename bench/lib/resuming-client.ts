/**
 * A chat reader that does what the chat site does when its stream breaks: it reconnects through
 * the Worker with `Last-Event-ID` until the answer ends, and then checks what it got: every event
 * id once, in order, none missing, and the answer's text as expected.
 */
import { ADMIN_TOKEN } from '../../origin/test/harness.js';
import { answerText, readSse, type SseItem } from '../../origin/test/sse.js';

export interface ResumedResult {
  /** Ended with `done`, every id once and in order, and the expected text. */
  exact: boolean;
  /** Ended with `done` at all. */
  completed: boolean;
  /** Reconnects with `Last-Event-ID`. */
  resumes: number;
  /** Times the question was asked anew because the stream broke before its first event. */
  askedAgain: number;
  /** Resumes from the start (`<X-Stream-Id>.0`) of a stream that broke before its first event. */
  resumedFromStart: number;
  outcome: string;
  /** When not exact: the sequences and the text received, to see what went wrong. */
  received?: { sequences: number[]; text: string };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Asks `message` of `site` at `base`, resuming at most `maxAttempts - 1` times. */
export async function askResuming(
  base: string,
  message: string,
  expected: string,
  headers: () => Record<string, string>,
  options: { site?: string; maxAttempts?: number } = {},
): Promise<ResumedResult> {
  const events: SseItem[] = [];
  let resumes = 0;
  let askedAgain = 0;
  let resumedFromStart = 0;
  // What the chat site does too: the response names its stream, so a stream that breaks before
  // its first event is resumed from the start instead of asked (and answered) twice.
  let startId: string | undefined;
  let outcome = 'gave up';
  for (let attempt = 0; attempt < (options.maxAttempts ?? 6); attempt += 1) {
    const lastId = events.at(-1)?.id ?? startId;
    let response: Response;
    try {
      response = await fetch(`${base}/api/v1/sites/${options.site ?? 'bench'}/chat`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          'content-type': 'application/json',
          ...headers(),
          ...(lastId === undefined ? {} : { 'Last-Event-ID': lastId }),
        },
        body: JSON.stringify({ message }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch {
      outcome = 'no response';
      await pause(200);
      continue;
    }
    if (response.status === 404 && events.length === 0 && startId !== undefined) {
      // Gone with its origin before it said anything: ask again.
      startId = undefined;
      await response.body?.cancel();
      askedAgain += 1;
      continue;
    }
    if (response.status !== 200 || response.body === null) {
      outcome = `${response.status}`;
      await response.body?.cancel();
      await pause(200);
      continue;
    }
    const named = response.headers.get('x-stream-id');
    if (events.length === 0 && named !== null) startId = `${named}.0`;
    let got: SseItem[] = [];
    await readSse(response.body, {
      timeoutMs: 120_000,
      stop: (_item, all) => {
        got = all;
        return false;
      },
    })
      .then((all) => {
        got = all;
      })
      .catch(() => {});
    // The Worker's own error event (origin gone) has no id: the reader resumes after the last one.
    events.push(...got.filter((item) => item.id !== undefined));
    const last = events.at(-1);
    if (last?.event === 'done' || last?.event === 'error') {
      const code = (last.data as { code?: string } | undefined)?.code;
      outcome = code === undefined ? last.event : `${last.event} ${code}`;
      break;
    }
    if (events.length > 0) resumes += 1;
    else if (startId !== undefined) resumedFromStart += 1;
    else askedAgain += 1;
    await pause(200);
  }
  const sequences = events.map((item) => Number(item.id!.split('.')[1]));
  const inOrder = sequences.every((sequence, i) => sequence === i + 1);
  const completed = outcome === 'done';
  const exact = completed && inOrder && answerText(events) === expected;
  const result: ResumedResult = {
    exact,
    completed,
    resumes,
    askedAgain,
    resumedFromStart,
    outcome,
  };
  if (!exact) result.received = { sequences, text: answerText(events) };
  return result;
}
