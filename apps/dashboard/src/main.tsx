import { HourglassError } from '@hourglass/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from 'wouter';
import { App } from './App';
import { takeKeyFromFragment } from './session';
import './styles.css';

// Before anything renders: the sign-in link's key leaves the address bar at once.
takeKeyFromFragment();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 1_000,
      // A 4xx will answer the same again; a network error or a 5xx is worth one more try.
      retry: (failures, error) => failures < 1 && !(error instanceof HourglassError && error.status < 500),
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <Router base="/ui">
        <App />
      </Router>
    </QueryClientProvider>
  </StrictMode>,
);
