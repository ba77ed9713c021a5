import { useRealtimeConnected, useVideoRoom } from '@/lib/realtime/realtime-provider';
import { isFinalStatus } from '@/lib/video';
import { useVideo } from '../api/get-video';
import { useVideoStatus } from '../api/get-video-status';

/**
 * A video kept current: its room is joined (always, or only while it is
 * still changing when `joinWhenFinal` is false) and, while the socket is down
 * and the video is not finished, its status is polled every 2 s.
 */
export function useLiveVideo(id: string | undefined, { joinWhenFinal = true } = {}) {
  const connected = useRealtimeConnected();
  const video = useVideo(id);
  const status = video.data?.status;
  const changing = video.isSuccess && !isFinalStatus(status);
  useVideoRoom(id, video.isSuccess && (joinWhenFinal || changing));
  const statusQuery = useVideoStatus(id, { poll: changing && !connected });
  return { video, stage: statusQuery.data?.stage, connected };
}
