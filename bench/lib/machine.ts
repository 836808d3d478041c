import { cpus, totalmem } from 'node:os';

/** The machine a benchmark ran on, for its JSON result. */
export function machineInfo() {
  return {
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}
