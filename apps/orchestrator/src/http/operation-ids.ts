/**
 * The operationId of every route in the OpenAPI document, by `METHOD /path` as Fastify registers it: the names a
 * generated client's methods get (and the names @hourglass/client uses). openapi.test.ts fails when a route has
 * none, so a new route cannot ship without one.
 */
export const OPERATION_IDS: Record<string, string> = {
  'POST /jobs': 'createJob',
  'POST /jobs/batch': 'createJobs',
  'GET /jobs': 'listJobs',
  'GET /jobs/:id': 'getJob',
  'PATCH /jobs/:id': 'updateJob',
  'GET /jobs/:id/executions': 'listJobExecutions',
  'POST /jobs/:id/trigger': 'triggerJob',
  'POST /jobs/:id/cancel': 'cancelJob',
  'POST /jobs/:id/pause': 'pauseJob',
  'POST /jobs/:id/resume': 'resumeJob',
  'POST /timers': 'createTimer',
  'GET /timers/:id': 'getTimer',
  'GET /executions/active': 'listActiveExecutions',
  'GET /executions/:id': 'getExecution',
  'POST /executions/:id/complete': 'completeExecution',
  'POST /executions/complete': 'completeExecutions',
  'GET /dead-letters': 'listDeadLetters',
  'POST /dead-letters/:id/requeue': 'requeueDeadLetter',
  'POST /runners/register': 'registerRunner',
  'POST /runners/:id/heartbeat': 'heartbeatRunner',
  'POST /runners/:id/next-job': 'claimExecutions',
  'POST /runners/:id/drain': 'drainRunner',
  'DELETE /runners/:id': 'deregisterRunner',
  'GET /runners': 'listRunners',
  'GET /job-types': 'listJobTypes',
  'POST /api-keys': 'createApiKey',
  'GET /api-keys': 'listApiKeys',
  'DELETE /api-keys/:id': 'revokeApiKey',
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  'GET /metrics': 'getMetrics',
};
