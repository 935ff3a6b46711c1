import { createRunner } from '@hourglass/runner';
import { createChargeCustomer } from './charge-customer.js';
import { renderReport } from './render-report.js';

/**
 * The runner program: both handlers, configured from the environment. SIGTERM or Ctrl-C stops it gracefully
 * (running jobs finish, outcomes are reported, it deregisters).
 */
const env = (name: string, fallback?: string) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const runner = createRunner({
  orchestratorUrl: env('ORCHESTRATOR_URL', 'http://127.0.0.1:8080').split(','),
  apiKey: process.env.API_KEY,
  name: process.env.RUNNER_NAME,
  concurrency: Number(process.env.RUNNER_CONCURRENCY ?? 8),
  handlers: [
    renderReport,
    createChargeCustomer({ baseUrl: env('BILLING_API_URL'), apiKey: process.env.BILLING_API_KEY }),
  ],
});
await runner.start();
