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
    ctx.say(done);
    await ctx.reload();
  } catch (e) {
    ctx.say(e instanceof ApiError ? e.message : 'Something went wrong.', 'error');
  }
}
