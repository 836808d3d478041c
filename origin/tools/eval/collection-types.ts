/**
 * The shapes of a judged test collection, apart from `collection.ts` (which picks a reader by
 * format), so that the readers need not import the module that imports them.
 */

/** One document of a test collection. */
export interface CollectionDocument {
  id: string;
  title: string;
  text: string;
}

/** One query (topic) of a test collection. */
export interface CollectionQuery {
  id: string;
  text: string;
}

/** Relevance judgments: query id → document id → graded gain (≥ 1 means relevant). */
export type Qrels = Map<string, Map<string, number>>;

/** A judged test collection: documents, queries and the relevance judgments that join them. */
export interface Collection {
  name: string;
  documents: CollectionDocument[];
  queries: CollectionQuery[];
  /** Only relevant judgments are kept; a document absent from a query's map has gain 0. */
  qrels: Qrels;
}

/** How to read a collection. */
export interface LoadOptions {
  /** TREC topics: the title alone (the default) or the title and the description. */
  topicFields?: 'title' | 'title+desc';
}
