// GraphQL-over-HTTP conformance audit of a running Annals server, using graphql-http's serverAudits.
// Usage: ANNALS_URL=http://127.0.0.1:8080 node tests/e2e/audit.mjs   (audits $ANNALS_URL/graphql)
// Prints one line per audit and `audit: N passed, M failed` (M = failed MUST audits, N = the rest); exits 1 if M > 0.
import { serverAudits } from 'graphql-http';

const REQUEST_TIMEOUT_MS = 10_000;

const base = (process.env.ANNALS_URL || '').replace(/\/+$/, '');
if (!base) {
  console.error('audit: FAIL: ANNALS_URL is not set (e.g. http://127.0.0.1:8080)');
  process.exit(1);
}
const url = `${base}/graphql`;

// Every request gets a timeout, so a hung server fails the audit instead of the CI job.
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

const oneLine = (text) => String(text).replace(/\s+/g, ' ').trim();

let passed = 0;
let failed = 0;
for (const audit of serverAudits({ url, fetchFn })) {
  const must = audit.name.startsWith('MUST');
  let status;
  let reason = '';
  try {
    const result = await audit.fn();
    status = result.status;
    if (result.status !== 'ok') {
      reason = result.reason;
      // Release the connection of a response the audit did not read.
      if (result.response?.body && !result.response.bodyUsed) {
        await result.response.body.cancel().catch(() => {});
      }
    }
  } catch (err) {
    // graphql-http throws (instead of returning a result) on fatal problems,
    // e.g. connection refused, a timeout or a body that is not JSON.
    status = must ? 'error' : 'warn';
    const cause = err?.cause ? ` (${err.cause.code ?? err.cause.message ?? err.cause})` : '';
    reason = `fatal: ${err?.message ?? err}${cause}`;
  }
  if (must && status !== 'ok') failed += 1;
  else passed += 1;
  const line = `${status.padEnd(6)} ${audit.id} ${audit.name}`;
  console.log(reason ? `${line} -- ${oneLine(reason)}` : line);
}

console.log(`audit: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
