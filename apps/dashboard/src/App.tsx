import { Link, Route, Switch, useRoute } from 'wouter';
import { SignedIn } from './auth';
import { LiveUpdates, useLiveMode } from './live';
import { CreateJob } from './views/CreateJob';
import { DeadLetters } from './views/DeadLetters';
import { JobDetail } from './views/JobDetail';
import { Jobs } from './views/Jobs';
import { Overview } from './views/Overview';
import { Queues } from './views/Queues';
import { Runners } from './views/Runners';
import { Schedules } from './views/Schedules';
import { Timers } from './views/Timers';

const NAV = [
  ['/', 'Overview'],
  ['/jobs', 'Jobs'],
  ['/schedules', 'Schedules'],
  ['/timers', 'Timers'],
  ['/dead-letters', 'Dead letters'],
  ['/queues', 'Queues'],
  ['/runners', 'Runners'],
] as const;

function NavLink({ href, label }: { href: string; label: string }) {
  const [exact] = useRoute(href);
  const [nested] = useRoute(`${href}/*`);
  const active = exact || (href !== '/' && nested);
  return (
    <Link href={href} aria-current={active ? 'page' : undefined}>
      {label}
    </Link>
  );
}

function LiveBadge() {
  const mode = useLiveMode();
  const text = mode === 'stream' ? 'live' : mode === 'polling' ? 'refreshing every 5 s' : 'connecting…';
  return (
    <span className={`live live-${mode}`} role="status" title="Updates from GET /events, else by refetching">
      {text}
    </span>
  );
}

export function App() {
  return (
    <SignedIn>
      {(session) => (
        <LiveUpdates apiKey={session.apiKey}>
          <a className="skip" href="#main">
            Skip to content
          </a>
          <header className="top">
            <Link href="/" className="brand">
              <img src="/ui/favicon.svg" alt="" width={22} height={22} className="logo" /> Hourglass
            </Link>
            <nav aria-label="Sections">
              {NAV.map(([href, label]) => (
                <NavLink key={href} href={href} label={label} />
              ))}
            </nav>
            <div className="who">
              <LiveBadge />
              <span className="small" data-testid="who">
                {session.me.name} <span className="muted">({session.me.scopes.join(', ')})</span>
              </span>
              {session.me.authEnabled && (
                <button type="button" className="link" onClick={session.signOut}>
                  Sign out
                </button>
              )}
            </div>
          </header>
          <main id="main" tabIndex={-1}>
            <Switch>
              <Route path="/" component={Overview} />
              <Route path="/jobs" component={Jobs} />
              <Route path="/jobs/new" component={CreateJob} />
              <Route path="/jobs/:id">{(p) => <JobDetail key={p.id} id={Number(p.id)} />}</Route>
              <Route path="/schedules" component={Schedules} />
              <Route path="/timers" component={Timers} />
              <Route path="/dead-letters" component={DeadLetters} />
              <Route path="/queues" component={Queues} />
              <Route path="/runners" component={Runners} />
              <Route>
                <h1>Not found</h1>
                <p>
                  Nothing here. <Link href="/">Back to the overview</Link>.
                </p>
              </Route>
            </Switch>
          </main>
        </LiveUpdates>
      )}
    </SignedIn>
  );
}
