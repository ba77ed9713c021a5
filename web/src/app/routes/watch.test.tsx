import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authKeys } from '@/lib/query-keys';
import { RealtimeProvider, type MinimalSocket } from '@/lib/realtime/realtime-provider';
import { alice, bob, fail, mockApi, ok } from '@/test/mock-api';
import { WatchRoute } from './watch';

const ID = 'd'.repeat(24);
const at = '2026-01-01T00:00:00.000Z';
const video = (patch: Record<string, unknown> = {}) => ({
  id: ID,
  title: 'Alice’s clip',
  status: 'PROCESSING',
  progress: 10,
  createdAt: at,
  updatedAt: at,
  ownerId: alice.id,
  visibility: 'private',
  ...patch,
});

let current: QueryClient;
const offlineSocket: MinimalSocket = { connected: false, on: () => undefined, emit: () => undefined, disconnect: () => undefined };

function renderWatch(me: ReturnType<typeof ok> | ReturnType<typeof fail>, v = video()) {
  mockApi({
    'GET /api/auth/me': me,
    [`GET /api/videos/${ID}`]: ok(v),
    [`GET /api/videos/${ID}/status`]: ok({ videoId: ID, status: v.status, progress: v.progress }),
    'GET /api/notifications': ok([]),
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  current = qc;
  render(
    <QueryClientProvider client={qc}>
      <RealtimeProvider socketFactory={() => offlineSocket}>
        <MemoryRouter initialEntries={[`/videos/${ID}`]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
          <Routes>
            <Route path="/videos/:id" element={<WatchRoute />} />
          </Routes>
        </MemoryRouter>
      </RealtimeProvider>
    </QueryClientProvider>,
  );
}

/** Waits until both the video and the session are known, so an absent control is absent for good. */
async function loaded() {
  await screen.findByTestId('video-title');
  await waitFor(() => expect(current.getQueryState(authKeys.me())?.status).toBe('success'));
}

afterEach(() => vi.unstubAllGlobals());

describe('WatchRoute controls', () => {
  it('hides edit and delete from another user', async () => {
    renderWatch(ok({ user: bob }));
    await loaded();
    expect(screen.queryByTestId('edit-video')).not.toBeInTheDocument();
    expect(screen.queryByTestId('delete-video')).not.toBeInTheDocument();
    expect(screen.getByTestId('visibility-badge')).toHaveTextContent('Private');
  });

  it('hides them when signed out', async () => {
    renderWatch(fail(401, 'unauthenticated', 'sign in'), video({ visibility: 'unlisted' }));
    await loaded();
    expect(screen.queryByTestId('edit-video')).not.toBeInTheDocument();
    expect(screen.getByTestId('visibility-badge')).toHaveTextContent('Unlisted');
  });

  it('shows them to the owner', async () => {
    renderWatch(ok({ user: alice }));
    expect(await screen.findByTestId('edit-video')).toBeInTheDocument();
    expect(screen.getByTestId('delete-video')).toBeInTheDocument();
  });

  it('shows them to an admin', async () => {
    renderWatch(ok({ user: { ...bob, isAdmin: true } }));
    expect(await screen.findByTestId('edit-video')).toBeInTheDocument();
  });

  it('shows no visibility badge for a public video', async () => {
    renderWatch(ok({ user: alice }), video({ visibility: 'public' }));
    await screen.findByTestId('edit-video');
    expect(screen.queryByTestId('visibility-badge')).not.toBeInTheDocument();
  });
});
