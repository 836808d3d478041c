/**
 * A count with its noun, singular for one: `plural(1, 'document')` is "1 document",
 * `plural(3, 'document')` "3 documents". `many` is for nouns that do not just take an "s".
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
