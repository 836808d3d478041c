/**
 * Bounded progress for a loop of `total` steps: `tick()` calls `report` at most once per 10%
 * (and at the end), so a long run prints about ten lines per stage.
 */
export function progressTicker(
  label: string,
  total: number,
  report: (line: string) => void,
): () => void {
  let done = 0;
  let lastDecile = 0;
  const started = Date.now();
  return () => {
    done += 1;
    const decile = total === 0 ? 10 : Math.floor((done * 10) / total);
    if (decile <= lastDecile) return;
    lastDecile = decile;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    report(`${label}: ${done}/${total} (${decile * 10}%, ${seconds} s)`);
  };
}
