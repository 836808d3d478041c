/**
 * The wire contract between the origin, the edge and the front ends: request and response
 * bodies, the one error shape and every chat-stream event, as zod schemas with their types.
 * Runtime-neutral: nothing here uses Node or Workers APIs (a unit test checks the imports).
 *
 * Front ends and the edge import only types from here (free at run time), or the zod-free
 * `routes.ts`; the origin and the tests parse with the schemas.
 */
export * from './errors.js';
export * from './requests.js';
export * from './responses.js';
export * from './routes.js';
export * from './stream.js';
