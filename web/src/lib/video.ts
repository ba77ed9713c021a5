import { z } from 'zod';

// The server's video resources, validated at the edge (api-client) so the
// rest of the app can trust their shape. Shared by every feature.

export const VIDEO_STATUSES = ['UPLOADING', 'UPLOADED', 'PROCESSING', 'READY', 'ERROR'] as const;
export const videoStatusSchema = z.enum(VIDEO_STATUSES);
export type VideoStatus = z.infer<typeof videoStatusSchema>;

/** READY and ERROR never change on their own: no live updates needed. */
export function isFinalStatus(status: VideoStatus | string | undefined): boolean {
  return status === 'READY' || status === 'ERROR';
}

/** Who may find and watch a video: listed for all, by link only, or its owner (and admins) only. */
export const VISIBILITIES = ['public', 'unlisted', 'private'] as const;
export const visibilitySchema = z.enum(VISIBILITIES);
export type Visibility = z.infer<typeof visibilitySchema>;

export const renditionSchema = z.object({
  id: z.string(),
  name: z.string(),
  width: z.number(),
  height: z.number(),
  bitrate: z.number(),
});
export type Rendition = z.infer<typeof renditionSchema>;

export const videoSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string().default(''),
  fileName: z.string().default(''),
  fileType: z.string().default(''),
  fileSize: z.number().default(0),
  status: videoStatusSchema,
  progress: z.number().default(0),
  errorMessage: z.string().nullable().default(null),
  manifestUrl: z.string().nullable().default(null),
  hlsUrl: z.string().nullable().default(null),
  thumbnailUrl: z.string().nullable().default(null),
  duration: z.number().default(0),
  width: z.number().default(0),
  height: z.number().default(0),
  resolution: z.string().nullable().default(null),
  renditions: z.array(renditionSchema).default([]),
  createdAt: z.string(),
  updatedAt: z.string(),
  // Servers from before accounts send neither: such videos are public and ownerless.
  ownerId: z.string().nullable().default(null),
  visibility: visibilitySchema.default('public'),
});
export type Video = z.infer<typeof videoSchema>;

export const videoStatusInfoSchema = z.object({
  videoId: z.string(),
  status: videoStatusSchema,
  progress: z.number().default(0),
  errorMessage: z.string().nullable().default(null),
  updatedAt: z.string().optional(),
  /** Only from realtime 'processing-progress' events. */
  stage: z.string().optional(),
});
export type VideoStatusInfo = z.infer<typeof videoStatusInfoSchema>;

export const paginationSchema = z.object({
  limit: z.number(),
  nextCursor: z.string().nullable(),
  hasMore: z.boolean(),
});
export type Pagination = z.infer<typeof paginationSchema>;

export const videoPageSchema = z.object({
  data: z.array(videoSchema),
  pagination: paginationSchema,
});
export type VideoPage = z.infer<typeof videoPageSchema>;

export const statsSchema = z.object({
  total: z.number(),
  byStatus: z.record(z.string(), z.number()),
});
export type VideoStats = z.infer<typeof statsSchema>;

export const notificationSchema = z.object({
  id: z.union([z.number(), z.string()]),
  videoId: z.string(),
  status: z.string(),
  message: z.string().default(''),
  createdAt: z.string(),
});
export type StatusNotification = z.infer<typeof notificationSchema>;
