import { writeFileSync } from 'node:fs';

/** Writes a benchmark's figures to `bench/results/<name>.json` and prints them. */
export function writeResult(name: string, result: unknown): void {
  const text = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(new URL(`../results/${name}.json`, import.meta.url), text);
  process.stdout.write(text);
}

/** Runs a benchmark's `main`, exiting 1 with the stack when it fails. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
