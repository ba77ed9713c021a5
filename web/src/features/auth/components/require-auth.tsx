import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { ErrorState } from '@/components/states';
import { Spinner } from '@/components/ui/spinner';
import { useCurrentUser } from '../api/get-me';
import { authPath } from '../lib/next-path';

/** Shows `children` to a signed-in user; sends anyone else to sign in, and back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useCurrentUser();
  const location = useLocation();
  if (me.isPending) return <Spinner label="Checking your session" />;
  if (me.isError) return <ErrorState error={me.error} title="Could not check your session" onRetry={() => void me.refetch()} />;
  if (!me.data) {
    const here = `${location.pathname}${location.search}${location.hash}`;
    return <Navigate to={authPath('signin', here)} replace />;
  }
  return <>{children}</>;
}
