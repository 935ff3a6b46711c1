import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The dashboard is served by the orchestrator at /ui (apps/orchestrator/src/http/routes/dashboard.ts), so its
 * assets live under /ui/assets/. `pnpm --filter @hourglass/dashboard dev` serves it with hot reload and sends API
 * calls to an orchestrator on :8080 (HOURGLASS_URL to choose another).
 */
const api = process.env.HOURGLASS_URL ?? 'http://127.0.0.1:8080';
const API_PATHS = [
  '/jobs',
  '/runners',
  '/executions',
  '/dead-letters',
  '/timers',
  '/job-types',
  '/auth',
  '/stats',
  '/events',
];

export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No source maps in the served build: the orchestrator serves dist/ as it is, and they would double its size.
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: Object.fromEntries(API_PATHS.map((p) => [p, { target: api, changeOrigin: true }])),
  },
});
