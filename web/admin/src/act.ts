import { ApiError } from './api.js';
import type { PageContext } from './context.js';

/** Runs `action`, says `done` and redraws the page; a refusal shows the origin's own message. */
export async function act(
  ctx: PageContext,
  done: string,
  action: () => Promise<unknown>,
): Promise<void> {
  try {
    await action();
    // Said after the redraw, so that what it announces is on the page when it is heard.
    await ctx.reload();
    ctx.say(done);
  } catch (e) {
    ctx.say(e instanceof ApiError ? e.message : 'Something went wrong.', 'error');
  }
}
