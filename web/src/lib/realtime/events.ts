import { z } from 'zod';
import { videoSchema } from '@/lib/video';

// Payloads of the server's Socket.IO events. Parsed leniently: an event that
// does not match is ignored rather than allowed to break the page.

const timestamp = z.union([z.number(), z.string()]).optional();

export const videoStatusEventSchema = z.object({
  videoId: z.string(),
  /** A VideoStatus, or "DELETED" once the video is gone. */
  status: z.string(),
  data: videoSchema.nullable().optional(),
  message: z.string().optional(),
  seq: z.number().optional(),
  timestamp,
});
export type VideoStatusEvent = z.infer<typeof videoStatusEventSchema>;

export const progressEventSchema = z.object({
  videoId: z.string(),
  progress: z.number(),
  stage: z.string().optional(),
  seq: z.number().optional(),
  timestamp,
});
export type ProgressEvent = z.infer<typeof progressEventSchema>;

export function toMillis(t: number | string | undefined): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t === 'number') return t;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
