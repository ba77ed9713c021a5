import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, render } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { videoKeys } from '@/lib/query-keys';
import type { Video } from '@/lib/video';
import { RealtimeProvider, useRealtimeConnected, useVideoRoom, type MinimalSocket } from './realtime-provider';

/** A stand-in for the Socket.IO client: records emits, lets the test fire events. */
class FakeSocket implements MinimalSocket {
  connected = false;
  emitted: Array<[string, ...unknown[]]> = [];
  private handlers = new Map<string, Array<(...a: unknown[]) => void>>();
  on(event: string, fn: (...a: unknown[]) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
    return this;
  }
  emit(event: string, ...args: unknown[]) {
    this.emitted.push([event, ...args]);
    return this;
  }
  disconnect() {
    this.connected = false;
    return this;
  }
  fire(event: string, ...args: unknown[]) {
    if (event === 'connect') this.connected = true;
    if (event === 'disconnect') this.connected = false;
    act(() => this.handlers.get(event)?.forEach((fn) => fn(...args)));
  }
  joins() {
    return this.emitted.filter(([e]) => e === 'join-video').map(([, id]) => id);
  }
}

function Watcher({ id }: { id: string }) {
  useVideoRoom(id);
  return null;
}

function Harness({ ids }: { ids: string[] }) {
  const connected = useRealtimeConnected();
  return (
    <>
      <span data-testid="connected">{String(connected)}</span>
      {ids.map((id) => (
        <Watcher key={id} id={id} />
      ))}
    </>
  );
}

function setup() {
  const socket = new FakeSocket();
  const qc = new QueryClient();
  let setIds: (ids: string[]) => void = () => undefined;
  function Root() {
    const [ids, set] = useState<string[]>(['a', 'b']);
    setIds = set;
    return <Harness ids={ids} />;
  }
  const factory = () => socket;
  const view = render(
    <QueryClientProvider client={qc}>
      <RealtimeProvider socketFactory={factory}>
        <Root />
      </RealtimeProvider>
    </QueryClientProvider>,
  );
  return { socket, qc, view, setIds: (ids: string[]) => act(() => setIds(ids)) };
}

describe('RealtimeProvider', () => {
  it('joins the rooms in use once connected, and reports the connection', () => {
    const { socket, view } = setup();
    expect(view.getByTestId('connected')).toHaveTextContent('false');
    expect(socket.joins()).toEqual([]);
    socket.fire('connect');
    expect(view.getByTestId('connected')).toHaveTextContent('true');
    expect(socket.joins()).toEqual(['a', 'b']);
  });

  it('joins new rooms at once and leaves unused ones', () => {
    const { socket, setIds } = setup();
    socket.fire('connect');
    setIds(['b', 'c']);
    expect(socket.joins()).toEqual(['a', 'b', 'c']);
    expect(socket.emitted).toContainEqual(['leave-video', 'a']);
  });

  it('joins every room again after a reconnect', () => {
    const { socket, view } = setup();
    socket.fire('connect');
    socket.fire('disconnect');
    expect(view.getByTestId('connected')).toHaveTextContent('false');
    socket.fire('connect');
    expect(socket.joins()).toEqual(['a', 'b', 'a', 'b']);
  });

  it('writes events into the query cache', () => {
    const { socket, qc } = setup();
    socket.fire('connect');
    const at = '2026-01-01T00:00:01.000Z';
    const data = {
      id: 'a',
      title: 'A',
      status: 'READY',
      progress: 100,
      createdAt: at,
      updatedAt: at,
    };
    socket.fire('video-status', { videoId: 'a', status: 'READY', data, seq: 3, timestamp: Date.parse(at) });
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))).toMatchObject({ status: 'READY', progress: 100 });
  });
});
