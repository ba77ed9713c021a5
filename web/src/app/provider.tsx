import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useCurrentUser } from '@/features/auth';
import { createQueryClient } from '@/lib/query-client';
import { defaultSocketFactory, RealtimeProvider, type SocketFactory } from '@/lib/realtime/realtime-provider';

export function AppProvider({
  children,
  queryClient,
  socketFactory,
}: {
  children: ReactNode;
  queryClient?: QueryClient;
  socketFactory?: SocketFactory;
}) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  return (
    <QueryClientProvider client={client}>
      <SessionRealtime socketFactory={socketFactory ?? defaultSocketFactory}>{children}</SessionRealtime>
    </QueryClientProvider>
  );
}

/**
 * The realtime connection for the current session. The server knows a
 * socket's user from the cookie sent with its handshake, so when someone signs
 * in or out in this page the socket is opened again (rooms are joined again
 * on connect) to see what the new session may see.
 */
function SessionRealtime({ children, socketFactory }: { children: ReactNode; socketFactory: SocketFactory }) {
  const me = useCurrentUser();
  const userId = me.isPending ? undefined : (me.data?.id ?? null);
  const [session, setSession] = useState(0);
  const seen = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    if (userId === undefined) return;
    if (seen.current !== undefined && seen.current !== userId) setSession((n) => n + 1);
    seen.current = userId;
  }, [userId]);
  const factory = useMemo<SocketFactory>(() => {
    void session; // a new factory per session makes the provider reconnect
    return () => socketFactory();
  }, [socketFactory, session]);
  return <RealtimeProvider socketFactory={factory}>{children}</RealtimeProvider>;
}
