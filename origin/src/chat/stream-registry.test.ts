import { describe } from 'vitest';
import { StreamRegistry } from './stream-registry.js';
import { chatStreamsContract } from './streams.contract.js';

describe('StreamRegistry (in process, the embedded default)', () => {
  chatStreamsContract(async (limits) => {
    const streams = new StreamRegistry(limits);
    return { streams, elsewhere: streams };
  });
});
