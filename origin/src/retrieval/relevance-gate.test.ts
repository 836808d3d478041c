import { describe, expect, it } from 'vitest';
import { keyWords, offTopicEvidence } from './relevance-gate.js';

const PASSAGES = [
  'Web Framework › Cookies\nsetSignedCookie(c, name, value, secret) signs a cookie with one secret.',
  'Web Framework › Deploy\nRun the server on Node.js with the node adapter. The default port is 3000.',
  'Web Framework › Middleware\nThe CORS middleware takes an origin option: a string or an array.',
];

describe('offTopicEvidence', () => {
  it('refuses a question about a topic the passages never mention', () => {
    const evidence = offTopicEvidence('How do I paginate a queryset in Django?', PASSAGES);
    expect(evidence.absent).toEqual(expect.arrayContaining(['django', 'queryset']));
    expect(evidence.offTopic).toBe(true);
  });

  it("answers a question whose only missing words are everyday English or the reader's typos", () => {
    expect(offTopicEvidence('cors with more than one allowed orgin?', PASSAGES).offTopic).toBe(
      false,
    );
    expect(
      offTopicEvidence('what port does the server use if i dont give one', PASSAGES),
    ).toMatchObject({
      offTopic: false,
      mass: 0,
    });
    expect(
      offTopicEvidence('how do i sign a cookie with setSignedCookie', PASSAGES).absent,
    ).toEqual([]);
  });

  it('ignores function words and numbers as key words', () => {
    expect(keyWords('What is the default port on Node 18?')).toEqual(['default', 'port', 'node']);
  });

  it("finds identifiers' parts and non-ASCII words in the passages", () => {
    const passages = [
      'Tuning › Pool\nRaise max_connections before the pool; see getSignedCookie and createServer.',
      'Größen › Übersicht\nDie Ｇröße der Datei wird geprüft.',
    ];
    expect(offTopicEvidence('how many connections are allowed', passages).absent).toEqual([
      'allowed',
    ]);
    expect(offTopicEvidence('signed server cookie', passages).absent).toEqual([]);
    expect(offTopicEvidence('wie wird die größe geprüft', passages).absent).toEqual(['wie']);
  });
});
