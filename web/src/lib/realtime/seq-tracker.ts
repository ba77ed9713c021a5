import { toMillis } from './events';

/**
 * Remembers, per video, the newest event sequence number applied, so the
 * events the server replays on join-video (up to 20, oldest first) that were
 * already seen are dropped. Events without a seq are always applied.
 *
 * One exception: an event whose seq is not newer but whose timestamp is later
 * than everything seen cannot be a replay; it means the server restarted and
 * numbered from the start again, so it is applied and becomes the new mark.
 */
export class SeqTracker {
  private readonly last = new Map<string, { seq: number; ts?: number }>();

  accept(videoId: string, seq: number | undefined, timestamp?: number | string): boolean {
    if (seq === undefined) return true;
    const ts = toMillis(timestamp);
    const prev = this.last.get(videoId);
    if (prev && seq <= prev.seq) {
      const restarted = ts !== undefined && prev.ts !== undefined && ts > prev.ts;
      if (!restarted) return false;
    }
    this.last.set(videoId, { seq, ts: ts ?? prev?.ts });
    return true;
  }

  forget(videoId: string): void {
    this.last.delete(videoId);
  }
}
