import type { ReactNode } from 'react';

/** The page's h1; focusable so navigation can move keyboard focus to it. */
export function PageHeading({ children, subtitle }: { children: ReactNode; subtitle?: ReactNode }) {
  return (
    <div className="mb-6 space-y-1">
      <h1 tabIndex={-1} className="break-words text-2xl font-bold tracking-tight outline-none sm:text-3xl">
        {children}
      </h1>
      {subtitle && <p className="text-sm text-muted-foreground">{subtitle}</p>}
    </div>
  );
}
