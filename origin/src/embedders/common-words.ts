/**
 * English function words: in nearly every passage, so they say little about what one is about
 * and cannot tell passages apart. The hash embedder down-weights them; the lexical reranker drops
 * them from queries. Changing this list changes every hash vector (see `hash.ts`).
 */
export const COMMON_ENGLISH_WORDS: readonly string[] =
  'a an and are as at be but by do does for from had has have how i if in is it its of on or so that the then there these this to was we were what when where which who why will with you your'.split(
    ' ',
  );
