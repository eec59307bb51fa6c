// The scale-out topology, for real: two Annals processes behind nginx (deploy/nginx-scale.conf),
// a PostgreSQL primary and a streaming replica. Started by tests/scale/run.sh, which makes the
// clusters and nginx and passes their addresses; this script starts and stops the Annals
// processes itself and checks what the README's Scaling section promises:
// - reads are spread over both processes and served by the replica;
// - a client reads its own write through the other process (Annals-Min-LSN), and a
//   subscriber on the other process gets the change;
// - stopping the replica moves reads to the primary without a failed request;
// - stopping a process (SIGTERM) under load loses no read and no acknowledged write, and
//   killing one (SIGKILL) loses no read nginx may retry (GET).
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const BIN = env('ANNALS_BIN');
const WORK = env('WORK');
const NGINX = env('NGINX_URL');
const PRIMARY_URL = env('PRIMARY_URL');
const REPLICA_URL = env('REPLICA_URL');
const REPLICA_CLUSTER = env('REPLICA_CLUSTER');
const PORTS = [Number(env('PORT_A')), Number(env('PORT_B'))];
const TOKEN = `scale-${Math.random().toString(36).slice(2)}${Date.now()}`;

let failures = 0;
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok: ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL: ${name}: ${err.stack || err}`);
  }
}
function assert(ok, message) {
  if (!ok) throw new Error(message);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- processes
const processes = [null, null];
function start(i) {
  const log = fs.openSync(`${WORK}/annals-${i}.log`, 'a');
  const child = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      DATABASE_URL: PRIMARY_URL,
      ANNALS_READ_DATABASE_URL: REPLICA_URL,
      ANNALS_REPLICA_CHECK_MS: '100',
      ANNALS_LISTEN: `127.0.0.1:${PORTS[i]}`,
      ANNALS_LOG: 'warn',
      ANNALS_EDITOR_TOKENS: `scale:${TOKEN}`,
      // Every read below must reach a database: no answers from the process's memory.
      ANNALS_RESPONSE_CACHE_BYTES: '0',
    },
    stdio: ['ignore', log, log],
  });
  fs.appendFileSync(`${WORK}/pids`, `${child.pid}\n`);
  processes[i] = child;
  return child;
}
const direct = (i) => `http://127.0.0.1:${PORTS[i]}`;
async function waitUp(i, limitMs = 30_000) {
  const until = Date.now() + limitMs;
  for (;;) {
    try {
      const r = await fetch(`${direct(i)}/readyz`);
      if (r.status === 200 && (await r.text()).includes('in rotation')) return;
    } catch { /* not yet */ }
    assert(Date.now() < until, `process ${i} not ready with its replica after ${limitMs} ms`);
    await sleep(50);
  }
}
function exited(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}
const run = (program, args) => new Promise((resolve, reject) => {
  execFile(program, args, { timeout: 60_000 }, (err, stdout, stderr) => (
    err ? reject(new Error(`${program} ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout)));
});
const replicaCtl = (action) => run('pg_ctlcluster', ['--skip-systemctl-redirect', '15', REPLICA_CLUSTER, action]);

// --- HTTP
async function post(base, query, { variables, token, minLsn } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (minLsn) headers['annals-min-lsn'] = minLsn;
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = await r.json();
  return { status: r.status, body, lsn: r.headers.get('annals-min-lsn') };
}
async function get(base, query, variables) {
  const url = new URL(`${base}/graphql`);
  url.searchParams.set('query', query);
  url.searchParams.set('variables', JSON.stringify(variables));
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: r.status, body: await r.json() };
}
const ok = ({ status, body }) => status === 200 && !body.errors && body.data;
async function createTopic(base, slug) {
  return post(base, 'mutation($s: String!) { createTopic(input: {slug: $s, name: $s}) { topic { slug } } }',
    { variables: { s: slug }, token: TOKEN });
}
const TOPIC = 'query($s: String!) { topic(slug: $s) { slug } }';

// Sums a counter's samples on process i whose labels include every `labels` pair.
async function counter(i, name, labels = {}) {
  const text = await (await fetch(`${direct(i)}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) sum += Number(line.trim().split(/\s+/).pop());
  }
  return sum;
}

// Runs `clients` loops of `request` until stopped; returns counts and failures.
function load(clients, request) {
  let stopped = false;
  const stats = { ok: 0, failed: [] };
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let n = 0; !stopped; n += 1) {
      try {
        const answer = await request(c, n);
        if (ok(answer)) stats.ok += 1;
        else stats.failed.push(`${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      } catch (err) {
        stats.failed.push(String(err));
      }
    }
  });
  return { stats, stop: async () => { stopped = true; await Promise.all(loops); return stats; } };
}

// Both at once on an empty database: one migrates and seeds under the lock, the other waits.
start(0);
start(1);
try {
  await Promise.all([waitUp(0), waitUp(1)]);
} catch (err) {
  console.log(`FAIL: start-up: ${err}`);
  process.exitCode = 1;
  for (const p of processes) p?.kill('SIGKILL');
  process.exit(1);
}
console.log('ok: two processes started at once on an empty database, both ready with the replica');

await check('reads are spread over both processes and served by the replica', async () => {
  const before = await Promise.all([0, 1].map((i) => counter(i, 'annals_db_reads_total', { target: 'replica' })));
  for (let n = 0; n < 40; n += 1) {
    const answer = await post(NGINX, '{ articles(first: 3) { nodes { title } } }');
    assert(ok(answer), JSON.stringify(answer.body));
  }
  const after = await Promise.all([0, 1].map((i) => counter(i, 'annals_db_reads_total', { target: 'replica' })));
  const served = after.map((a, i) => a - before[i]);
  assert(served.every((n) => n >= 10), `replica reads per process: ${served}`);
  assert(served[0] + served[1] === 40, `every read on the replica: ${served}`);
});

await check('read-your-writes: a write through one process is read through the other', async () => {
  for (let n = 0; n < 20; n += 1) {
    const slug = `ryw-${n}`;
    const wrote = await createTopic(direct(n % 2), slug);
    assert(ok(wrote), JSON.stringify(wrote.body));
    assert(wrote.lsn && wrote.lsn === wrote.body.extensions.consistency.minLsn, `commit position: ${wrote.lsn}`);
    const read = await post(direct((n + 1) % 2), TOPIC, { variables: { s: slug }, minLsn: wrote.lsn });
    assert(ok(read) && read.body.data.topic?.slug === slug, `read back: ${JSON.stringify(read.body)}`);
  }
  // The same through nginx, which picks the process.
  for (let n = 0; n < 10; n += 1) {
    const slug = `ryw-lb-${n}`;
    const wrote = await createTopic(NGINX, slug);
    assert(ok(wrote), JSON.stringify(wrote.body));
    const read = await post(NGINX, TOPIC, { variables: { s: slug }, minLsn: wrote.lsn });
    assert(read.body.data?.topic?.slug === slug, `read back through nginx: ${JSON.stringify(read.body)}`);
  }
});

await check('a mutation through one process reaches a subscriber on the other', async () => {
  const ws = createClient({ url: `${direct(1).replace('http', 'ws')}/graphql/ws`, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    const event = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no event within 10 s')), 10_000);
      const stop = ws.subscribe(
        { query: 'subscription { articleChanged(slug: "de-stalinization") { kind version article { summary } } }' },
        { next: (v) => { clearTimeout(timer); stop(); resolve(v); }, error: reject, complete: () => {} },
      );
    });
    await sleep(300);
    const seed = await post(direct(0), '{ article(slug: "de-stalinization") { id version } }');
    const { id, version } = seed.body.data.article;
    const change = await post(direct(0),
      'mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: {summary: "Changed through process 0."}) { article { version } } }',
      { variables: { id, v: version }, token: TOKEN });
    assert(ok(change), JSON.stringify(change.body));
    const got = await event;
    assert(got.data.articleChanged.version === version + 1, JSON.stringify(got));
    assert(got.data.articleChanged.article.summary === 'Changed through process 0.', JSON.stringify(got));
  } finally {
    await ws.dispose();
  }
});

await check('stopping the replica moves reads to the primary with no failed request', async () => {
  const before = await Promise.all([0, 1].map((i) => counter(i, 'annals_db_reads_total', { target: 'primary' })));
  const reads = load(4, () => post(NGINX, '{ articles(first: 3) { nodes { title } } }'));
  await sleep(300);
  await replicaCtl('stop');
  await sleep(1000);
  const stats = await reads.stop();
  assert(stats.failed.length === 0, `${stats.failed.length} of ${stats.ok + stats.failed.length} failed: ${stats.failed.slice(0, 3)}`);
  assert(stats.ok > 50, `only ${stats.ok} reads`);
  const after = await Promise.all([0, 1].map((i) => counter(i, 'annals_db_reads_total', { target: 'primary' })));
  assert(after.every((a, i) => a > before[i]), `primary reads: ${before} -> ${after}`);
  for (const i of [0, 1]) {
    const r = await fetch(`${direct(i)}/readyz`);
    const text = await r.text();
    assert(r.status === 200 && text.includes('unreachable'), `readyz ${r.status}: ${text}`);
  }
  console.log(`   ${stats.ok} reads while the replica stopped, none failed`);
  await replicaCtl('start');
  await Promise.all([waitUp(0, 15_000), waitUp(1, 15_000)]);
});

await check('SIGTERM to one process under load loses no read and no acknowledged write', async () => {
  const reads = load(4, (c, n) => get(NGINX, 'query($n: Int!) { articles(first: $n) { nodes { title } } }', { n: 1 + ((c + n) % 5) }));
  const writes = { acked: [], failed: [] };
  let writing = true;
  const writer = (async () => {
    for (let n = 0; writing; n += 1) {
      const slug = `term-${n}`;
      try {
        const answer = await createTopic(NGINX, slug);
        if (ok(answer)) writes.acked.push(slug);
        else writes.failed.push([slug, `${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`]);
      } catch (err) {
        writes.failed.push([slug, String(err)]);
      }
    }
  })();
  await sleep(500);
  const victim = processes[0];
  victim.kill('SIGTERM');
  await exited(victim);
  await sleep(1000);
  const stats = await reads.stop();
  writing = false;
  await writer;
  assert(stats.failed.length === 0, `${stats.failed.length} reads failed: ${stats.failed.slice(0, 3)}`);
  assert(writes.acked.length > 5, `only ${writes.acked.length} writes acknowledged`);
  for (const slug of writes.acked) {
    const read = await post(direct(1), TOPIC, { variables: { s: slug } });
    assert(read.body.data?.topic?.slug === slug, `acknowledged write ${slug} is missing`);
  }
  for (const [slug] of writes.failed) {
    const read = await post(direct(1), TOPIC, { variables: { s: slug } });
    assert(read.body.data?.topic === null, `a write answered as failed was applied: ${slug}`);
  }
  console.log(`   ${stats.ok} reads, ${writes.acked.length} writes acknowledged and present, ${writes.failed.length} refused (not applied)${writes.failed.length ? `: ${writes.failed.map(([, why]) => why).join('; ')}` : ''}`);
});

await check('SIGKILL to one process under load loses no GET (nginx retries it)', async () => {
  start(0);
  await waitUp(0);
  await sleep(2500); // nginx's fail_timeout for the address that was down
  const reads = load(4, (c, n) => get(NGINX, 'query($n: Int!) { articles(first: $n) { nodes { title } } }', { n: 1 + ((c + n) % 5) }));
  await sleep(500);
  const victim = processes[1];
  victim.kill('SIGKILL');
  await exited(victim);
  await sleep(1000);
  const stats = await reads.stop();
  assert(stats.failed.length === 0, `${stats.failed.length} reads failed: ${stats.failed.slice(0, 3)}`);
  console.log(`   ${stats.ok} reads, none failed`);
});

for (const p of processes) {
  if (p && p.exitCode === null && p.signalCode === null) {
    p.kill('SIGTERM');
    await exited(p);
  }
}
if (failures > 0) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('scale: all checks passed');
