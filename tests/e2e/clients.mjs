// Real clients against a running Annals server: Apollo Client (HTTP, normalized cache) and
// graphql-ws (the reference graphql-transport-ws client), checking what the endpoint promises.
// Usage: ANNALS_URL=http://127.0.0.1:8080 ANNALS_TOKEN=... node tests/e2e/clients.mjs
// Prints one line per check and `clients: N passed, M failed`; exits 1 if M > 0.
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const base = (process.env.ANNALS_URL || '').replace(/\/+$/, '');
const token = process.env.ANNALS_TOKEN || '';
if (!base || !token) {
  console.error('clients: FAIL: set ANNALS_URL and ANNALS_TOKEN');
  process.exit(1);
}
const TIMEOUT_MS = 10_000;
const fetchWithTimeout = (input, init = {}) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${String(err?.stack || err).split('\n').slice(0, 3).join(' | ')}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// Raw responses as the wire carries them, to check key order and extensions.
const raw = [];
const recordingFetch = async (input, init) => {
  const response = await fetchWithTimeout(input, init);
  raw.push(await response.clone().text());
  return response;
};

const apollo = new ApolloClient({
  link: new HttpLink({ uri: `${base}/graphql`, fetch: recordingFetch }),
  cache: new InMemoryCache(),
});

const ARTICLE = gql`
  query Article($slug: String!) {
    article(slug: $slug) {
      title
      id
      sections { position heading reforms { title id } }
      topics { name slug articles(first: 5) { totalCount nodes { slug } pageInfo { hasNextPage } } }
    }
  }
`;

await check('Apollo Client: a nested query with __typename everywhere', async () => {
  const { data, error } = await apollo.query({ query: ARTICLE, variables: { slug: 'de-stalinization' } });
  assert(!error, `error: ${error}`);
  assert(data.article.title === 'De-Stalinization', 'title');
  assert(data.article.sections.length === 6, 'six sections');
  assert(data.article.sections[1].reforms.length === 4, 'four reforms');
});

await check('the response map follows the selection order (not sorted)', async () => {
  const body = JSON.parse(raw.at(-1));
  // Apollo adds __typename at the end of every selection set.
  const keys = Object.keys(body.data.article);
  assert(JSON.stringify(keys) === JSON.stringify(['title', 'id', 'sections', 'topics', '__typename']), keys.join(','));
  const connection = Object.keys(body.data.article.topics[0].articles);
  assert(JSON.stringify(connection) === JSON.stringify(['totalCount', 'nodes', 'pageInfo', '__typename']), connection.join(','));
  assert(Object.keys(body)[0] === 'data', 'data comes first');
});

await check('every response says its cost in extensions.cost', async () => {
  const body = JSON.parse(raw.at(-1));
  const cost = body.extensions?.cost;
  assert(cost && Number.isInteger(cost.requested) && cost.requested > 0 && cost.limit >= cost.requested,
    JSON.stringify(body.extensions));
});

await check('Apollo Client: errors carry extensions.code', async () => {
  const { error } = await apollo.query({
    query: gql`query Bad { article(slug: "de-stalinization") { id nope } }`,
    errorPolicy: 'none',
  }).catch((error) => ({ error }));
  assert(error, 'an error');
  const body = JSON.parse(raw.at(-1));
  assert(body.errors?.[0]?.extensions?.code === 'GRAPHQL_VALIDATION_FAILED', raw.at(-1));
});

await check('Apollo Client: a mutation with a token, then the cache sees it', async () => {
  const authed = new ApolloClient({
    link: new HttpLink({ uri: `${base}/graphql`, fetch: fetchWithTimeout, headers: { authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache(),
  });
  const slug = `e2e-topic-${Date.now()}`;
  const { data } = await authed.mutate({
    mutation: gql`mutation Create($input: CreateTopicInput!) { createTopic(input: $input) { topic { id slug name } } }`,
    variables: { input: { slug, name: 'E2E topic' } },
  });
  assert(data.createTopic.topic.slug === slug, JSON.stringify(data));
  const read = await authed.query({ query: gql`query T($slug: String!) { topic(slug: $slug) { id name } }`, variables: { slug } });
  assert(read.data.topic.id === data.createTopic.topic.id, 'same id');
});

// Automatic persisted queries: Apollo's persisted-queries link, SHA-256 from Node's crypto.
// A custom fetch logs each request (method, whether it carried the text) and its answer.
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
function apqClient({ useGETForHashedQueries, accept }) {
  const log = [];
  const loggingFetch = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const method = (init.method || 'GET').toUpperCase();
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : {};
    const sent = method === 'GET'
      ? { query: url.searchParams.get('query'), extensions: JSON.parse(url.searchParams.get('extensions') || '{}') }
      : body;
    const response = await fetchWithTimeout(input, init);
    const answer = JSON.parse(await response.clone().text());
    log.push({
      method,
      withText: typeof sent.query === 'string' && sent.query.length > 0,
      hashed: typeof sent.extensions?.persistedQuery?.sha256Hash === 'string',
      status: response.status,
      code: answer.errors?.[0]?.extensions?.code ?? 'OK',
    });
    return response;
  };
  const http = new HttpLink({ uri: `${base}/graphql`, fetch: loggingFetch, headers: accept ? { accept } : {} });
  const client = new ApolloClient({
    link: createPersistedQueryLink({ sha256, useGETForHashedQueries }).concat(http),
    cache: new InMemoryCache(),
  });
  return { client, log };
}
const summary = (log) => log.map((r) => `${r.method}:${r.withText ? 'text' : 'hash'}:${r.status}:${r.code}`).join(' ');

for (const [label, useGETForHashedQueries, accept, missStatus] of [
  ['POST, Accept application/json', false, 'application/json', 200],
  ['POST, Accept graphql-response+json (the default)', false, undefined, 400],
  ['GET (useGETForHashedQueries), Accept application/json', true, 'application/json', 200],
  ['GET (useGETForHashedQueries), Accept graphql-response+json', true, undefined, 400],
]) {
  await check(`Apollo persisted queries over ${label}: miss, fallback with the text, then hash only`, async () => {
    const { client, log } = apqClient({ useGETForHashedQueries, accept });
    // A document of its own (an alias unique to this run), so the first request misses.
    const alias = `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const query = gql(`query Apq($slug: String!) { ${alias}: topic(slug: $slug) { slug name } }`);
    const first = await client.query({ query, variables: { slug: 'nikita-khrushchev' } });
    assert(!first.error && first.data[alias].slug === 'nikita-khrushchev', JSON.stringify(first));
    const method = useGETForHashedQueries ? 'GET' : 'POST';
    const expected = `${method}:hash:${missStatus}:PERSISTED_QUERY_NOT_FOUND POST:text:200:OK`;
    assert(summary(log) === expected, `${summary(log)} (expected ${expected})`);
    assert(log[1].hashed, 'the fallback still carries the hash (it registers the text)');
    for (const slug of ['nikita-khrushchev', 'joseph-stalin']) {
      const again = await client.query({ query, variables: { slug }, fetchPolicy: 'network-only' });
      assert(!again.error && again.data[alias].slug === slug, JSON.stringify(again));
    }
    const later = summary(log.slice(2));
    const hit = `${method}:hash:200:OK`;
    assert(later === `${hit} ${hit}`, `later requests are hash only: ${later}`);
  });
}

// graphql-ws: subscribe, see an event after a mutation, query over the socket, close cleanly.
const ws = createClient({
  url: `${base.replace(/^http/, 'ws')}/graphql/ws`,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  lazy: false,
});
let closeEvent;
ws.on('closed', (event) => { closeEvent = event; });

await check('graphql-ws: a query over the socket answers like HTTP', async () => {
  const result = await new Promise((resolve, reject) => {
    let value;
    ws.subscribe({ query: '{ article(slug: "de-stalinization") { title sections { heading } } }' }, {
      next: (v) => { value = v; },
      error: reject,
      complete: () => resolve(value),
    });
  });
  assert(result.data.article.title === 'De-Stalinization', JSON.stringify(result));
  assert(Object.keys(result.data.article).join(',') === 'title,sections', 'selection order');
});

await check('graphql-ws: articleChanged delivers a committed change', async () => {
  const seed = await (await fetchWithTimeout(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ article(slug: "de-stalinization") { id version } }' }),
  })).json();
  const { id, version } = seed.data.article;
  const event = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event within 10 s')), TIMEOUT_MS);
    const stop = ws.subscribe({
      query: 'subscription { articleChanged(slug: "de-stalinization") { kind version article { title } } }',
    }, {
      next: (v) => { clearTimeout(timer); stop(); resolve(v); },
      error: reject,
      complete: () => {},
    });
  });
  await new Promise((r) => setTimeout(r, 300)); // let the subscription register
  const change = await (await fetchWithTimeout(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: 'mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: {summary: "Changed by the e2e test."}) { article { version } } }',
      variables: { id, v: version },
    }),
  })).json();
  assert(!change.errors, JSON.stringify(change));
  const got = await event;
  assert(got.data.articleChanged.kind === 'UPDATED', JSON.stringify(got));
  assert(got.data.articleChanged.version === version + 1, JSON.stringify(got));
});

await check('graphql-ws: a normal close is answered with 1000 (not 1006)', async () => {
  await ws.dispose();
  const deadline = Date.now() + 5000;
  while (!closeEvent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert(closeEvent, 'closed');
  assert(closeEvent.code === 1000 && closeEvent.wasClean, `code ${closeEvent.code}, clean ${closeEvent.wasClean}`);
});

console.log(`clients: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
