import { type HourglassClient, HourglassError, type Me } from '@hourglass/client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type FormEvent, type ReactNode, useContext, useMemo, useState } from 'react';
import { clientFor, forgetKey, storedKey, storeKey } from './session';

interface Session {
  client: HourglassClient;
  apiKey: string | null;
  me: Me;
  /** Admin-only actions (draining a runner) are shown to admin keys only. */
  isAdmin: boolean;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside <SignedIn>');
  return session;
}

/**
 * Asks the orchestrator who the stored key is (`GET /auth/me`) and shows the sign-in form until a key answers. With
 * authentication off the question is answered without a key. A key with the runner scope only cannot read anything
 * here, and is told so.
 */
export function SignedIn({ children }: { children: (session: Session) => ReactNode }) {
  const queryClient = useQueryClient();
  const [apiKey, setApiKey] = useState<string | null>(storedKey);
  const client = useMemo(() => clientFor(apiKey), [apiKey]);
  const me = useQuery({
    queryKey: ['me', apiKey],
    queryFn: ({ signal }) => client.getMe({ signal }),
    retry: false,
    staleTime: 60_000,
  });
  const signIn = (key: string) => {
    storeKey(key);
    setApiKey(key);
  };
  const signOut = () => {
    forgetKey();
    queryClient.clear();
    setApiKey(null);
  };

  if (me.isPending) return <p className="center muted">Loading…</p>;
  if (me.isError) {
    const refused = me.error instanceof HourglassError && me.error.status === 401;
    return (
      <SignInForm
        onSignIn={signIn}
        problem={
          apiKey && refused
            ? 'The orchestrator does not know this key (or it was revoked).'
            : refused
              ? null
              : `The orchestrator did not answer: ${me.error.message}`
        }
      />
    );
  }
  if (!me.data.scopes.some((s) => s === 'admin' || s === 'client')) {
    return (
      <main className="center card narrow">
        <h1>Hourglass</h1>
        <p>
          The key <strong>{me.data.name}</strong> has the runner scope only: it can run jobs, not look at
          them. Sign in with a client or admin key.
        </p>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </main>
    );
  }
  const session: Session = {
    client,
    apiKey,
    me: me.data,
    isAdmin: me.data.scopes.includes('admin'),
    signOut,
  };
  return <SessionContext.Provider value={session}>{children(session)}</SessionContext.Provider>;
}

function SignInForm({ onSignIn, problem }: { onSignIn: (key: string) => void; problem: string | null }) {
  const [key, setKey] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (key.trim()) onSignIn(key.trim());
  };
  return (
    <main className="center card narrow">
      <h1>
        <img src="/ui/favicon.svg" alt="" width={22} height={22} className="logo" /> Hourglass
      </h1>
      <form onSubmit={submit} className="stack">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-describedby="api-key-help"
          aria-invalid={problem ? true : undefined}
        />
        <p id="api-key-help" className="muted small">
          A client or admin key. It is kept in this tab only (session storage) and sent to this orchestrator
          alone. `pnpm start` prints a link that signs you in.
        </p>
        {problem && (
          <p role="alert" className="error">
            {problem}
          </p>
        )}
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
