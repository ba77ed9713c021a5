import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { io, type Socket } from 'socket.io-client';
import { videoKeys } from '@/lib/query-keys';
import { createRealtimeHandlers } from './cache-patch';

// The app's single Socket.IO connection (same origin, path /socket.io/).
// Components say which videos they care about with useVideoRoom(); rooms are
// reference-counted, joined while connected and joined again after every
// reconnect, when the server replays each room's recent events (duplicates
// are dropped by seq) and the details of watched videos are refetched once to
// catch up on anything older than the replay buffer.
//
// While the socket is down, `connected` is false and the hooks that show live
// status poll the REST API instead (see the videos feature).

export interface MinimalSocket {
  readonly connected: boolean;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(): unknown;
}

export type SocketFactory = () => MinimalSocket;

export const defaultSocketFactory: SocketFactory = () =>
  io({
    path: '/socket.io/',
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 10_000,
  }) as Socket as unknown as MinimalSocket;

interface RealtimeContextValue {
  connected: boolean;
  /** Joins the video's room; call the returned function to leave it. */
  watchVideo: (videoId: string) => () => void;
}

const RealtimeContext = createContext<RealtimeContextValue>({
  connected: false,
  watchVideo: () => () => undefined,
});

export function RealtimeProvider({ children, socketFactory = defaultSocketFactory }: { children: ReactNode; socketFactory?: SocketFactory }) {
  const qc = useQueryClient();
  const [connected, setConnected] = useState(false);
  const socketRef = useRef<MinimalSocket | null>(null);
  const rooms = useRef(new Map<string, number>());

  useEffect(() => {
    const socket = socketFactory();
    socketRef.current = socket;
    const handlers = createRealtimeHandlers(qc);
    let connectedBefore = false;

    socket.on('connect', () => {
      setConnected(true);
      const ids = [...rooms.current.keys()];
      for (const id of ids) socket.emit('join-video', id);
      if (connectedBefore) {
        for (const id of ids) void qc.invalidateQueries({ queryKey: videoKeys.detail(id) });
      }
      connectedBefore = true;
    });
    socket.on('disconnect', () => setConnected(false));
    socket.on('video-status', (payload) => handlers.onVideoStatus(payload));
    socket.on('processing-progress', (payload) => handlers.onProgress(payload));
    socket.on('error', (message) => console.warn('realtime:', message));

    return () => {
      socket.disconnect();
      socketRef.current = null;
      setConnected(false);
    };
  }, [qc, socketFactory]);

  const watchVideo = useCallback((videoId: string) => {
    const count = rooms.current.get(videoId) ?? 0;
    rooms.current.set(videoId, count + 1);
    if (count === 0 && socketRef.current?.connected) socketRef.current.emit('join-video', videoId);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const remaining = (rooms.current.get(videoId) ?? 1) - 1;
      if (remaining > 0) {
        rooms.current.set(videoId, remaining);
        return;
      }
      rooms.current.delete(videoId);
      if (socketRef.current?.connected) socketRef.current.emit('leave-video', videoId);
    };
  }, []);

  const value = useMemo(() => ({ connected, watchVideo }), [connected, watchVideo]);
  return <RealtimeContext.Provider value={value}>{children}</RealtimeContext.Provider>;
}

/** Whether the live connection is up (if not, poll). */
export function useRealtimeConnected(): boolean {
  return useContext(RealtimeContext).connected;
}

/** Keeps the video's room joined while `enabled` and the component is mounted. */
export function useVideoRoom(videoId: string | undefined, enabled = true): void {
  const { watchVideo } = useContext(RealtimeContext);
  useEffect(() => {
    if (!videoId || !enabled) return undefined;
    return watchVideo(videoId);
  }, [videoId, enabled, watchVideo]);
}
