import { useEffect } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { AccountMenu, useCurrentUser } from '@/features/auth';
import { useRealtimeConnected } from '@/lib/realtime/realtime-provider';
import { cn } from '@/lib/utils';

const navClass = ({ isActive }: { isActive: boolean }) =>
  cn(
    'rounded-md px-3 py-2 text-sm font-medium transition-colors focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring',
    isActive ? 'bg-primary/10 text-primary' : 'text-muted-foreground hover:text-foreground',
  );

export function Layout() {
  const connected = useRealtimeConnected();
  const signedIn = Boolean(useCurrentUser().data);
  const { pathname } = useLocation();
  useEffect(() => {
    // A new page starts at the top, and keyboard users start at its heading.
    window.scrollTo(0, 0);
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [pathname]);

  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-background focus:px-3 focus:py-2">
        Skip to content
      </a>
      <header className="sticky top-0 z-40 border-b bg-background/95 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-6xl items-center justify-between gap-2 px-3 sm:px-6">
          <NavLink to="/" className="flex items-center gap-2 font-semibold" aria-label="VisionSync home">
            <svg viewBox="0 0 32 32" className="h-7 w-7" aria-hidden="true">
              <rect width="32" height="32" rx="7" fill="hsl(var(--primary))" />
              <path d="M12 9l12 7-12 7z" fill="white" />
            </svg>
            <span className="hidden sm:inline">VisionSync</span>
          </NavLink>
          <div className="flex min-w-0 items-center gap-2">
            <nav aria-label="Main" className="flex items-center gap-1">
              <NavLink to="/" end className={navClass}>
                Upload
              </NavLink>
              <NavLink to="/videos" className={navClass}>
                Library
              </NavLink>
              {signedIn && (
                <NavLink to="/mine" className={navClass} data-testid="nav-mine">
                  My videos
                </NavLink>
              )}
              <span
                className={cn('ml-1 h-2.5 w-2.5 rounded-full', connected ? 'bg-emerald-500' : 'bg-slate-300')}
                title={connected ? 'Live updates on' : 'Live updates off: checking periodically'}
                role="img"
                aria-label={connected ? 'Live updates on' : 'Live updates off'}
                data-testid="realtime-indicator"
              />
            </nav>
            <AccountMenu />
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-3 py-6 sm:px-6 sm:py-8">
        <Outlet />
      </main>
    </div>
  );
}
