import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { createQueryClient } from '@/lib/query-client';
import { RealtimeProvider, type SocketFactory } from '@/lib/realtime/realtime-provider';

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
      <RealtimeProvider socketFactory={socketFactory}>{children}</RealtimeProvider>
    </QueryClientProvider>
  );
}
